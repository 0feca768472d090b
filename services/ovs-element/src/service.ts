import { BaseConfig, packageVersion, type ServiceSpec } from "@sdn/runtime";

/** The ovs-element service as the runtime starts it; tests start it in-process from here. */
export const ovsElementSpec: ServiceSpec<typeof BaseConfig.properties> = {
  name: "ovs-element",
  version: packageVersion(import.meta.url),
  description: "Ovs provider: capabilities, GRE tunnel mesh, NIC plug/unplug, reconciliation",
  config: BaseConfig,
};
