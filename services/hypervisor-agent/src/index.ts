export { hypervisorAgentSpec, type Agent } from "./service.js";
export { HOST_PROGRAMS_DIR, HOST_PROGRAMS_VERSION, KVM_FILES, XAPI_PLUGIN_FILES } from "./drivers/host-programs.js";
export { programSchemaFiles } from "./drivers/program-answers.js";
export { kvmBridgeName } from "./drivers/kvm/kvm-driver.js";
// The drivers and the agent's handlers, for the suites under test/ and the benches that drive
// them directly (against the XAPI emulator or a lab host) instead of through the bus.
export { agentHandlers } from "./agent/agent-handlers.js";
export { HostFailure } from "./drivers/errors.js";
export { KvmDriver } from "./drivers/kvm/kvm-driver.js";
export { describePluginFailure } from "./drivers/xapi/plugin-failure.js";
export { XapiClient, XapiError, XapiTransportError, type XapiTls } from "./drivers/xapi/xapi-client.js";
export { XapiDriver } from "./drivers/xapi/xapi-driver.js";
export type { HostDriver } from "./drivers/driver.js";
