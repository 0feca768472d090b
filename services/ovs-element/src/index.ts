export { ovsElementSpec, elementOfContext, type Element } from "./service.js";
export { canHandle } from "./providers.js";
