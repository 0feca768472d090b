export { hypervisorAgentSpec, type Agent } from "./service.js";
export { HOST_PROGRAMS_VERSION } from "./drivers/host-programs.js";
export { kvmBridgeName } from "./drivers/kvm/kvm-driver.js";
