export { ovsElementSpec, type Element } from "./service.js";
export { canHandle } from "./providers.js";
// For the suites under test/: the element's agent client and its NIC identities.
export { AgentClient } from "./agent-client.js";
export { nicIdFor } from "./nic-identity.js";
export type { Membership } from "./store.js";
