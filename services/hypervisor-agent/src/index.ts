export { hypervisorAgentSpec } from "./service.js";
