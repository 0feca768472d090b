export * from "./exec.js";
export * from "./lab.js";
export * from "./host.js";
export * from "./kvm-host.js";
export * from "./xapi-host.js";
export * from "./vm.js";
export * from "./new-host.js";
export * from "./underlay-capture.js";
export { XapiEmulator, type XapiEmulatorConfig, type XapiFlavour } from "./xapi/server.js";
