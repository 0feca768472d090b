export { hypervisorAgentSpec, type Agent } from "./service.js";
export { HOST_PROGRAMS_DIR, HOST_PROGRAMS_VERSION } from "./drivers/host-programs.js";
export { programSchemaFiles } from "./drivers/program-answers.js";
export { kvmBridgeName } from "./drivers/kvm/kvm-driver.js";
