import { BaseConfig, packageVersion, type ServiceSpec } from "@sdn/runtime";

/** The network-guru service as the runtime starts it; tests start it in-process from here. */
export const networkGuruSpec: ServiceSpec<typeof BaseConfig.properties> = {
  name: "network-guru",
  version: packageVersion(import.meta.url),
  description: "Networks, GRE keys and IP address management",
  config: BaseConfig,
};
