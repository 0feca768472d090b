export { hypervisorAgentSpec, hostManagerOf } from "./service.js";
export { HOST_PROGRAMS_VERSION, KVM_FILES, XAPI_PLUGIN_FILES } from "./drivers/host-programs.js";
export { kvmBridgeName } from "./drivers/kvm/kvm-driver.js";
