import { BaseConfig, packageVersion, type ServiceSpec } from "@sdn/runtime";

/** The hypervisor-agent service as the runtime starts it; tests start it in-process from here. */
export const hypervisorAgentSpec: ServiceSpec<typeof BaseConfig.properties> = {
  name: "hypervisor-agent",
  version: packageVersion(import.meta.url),
  description: "Host registry and drivers (XAPI, KVM) with host-side programs",
  config: BaseConfig,
};
