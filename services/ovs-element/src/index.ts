export { ovsElementSpec, type Element } from "./service.js";
export { canHandle } from "./providers.js";
