import { BaseConfig, packageVersion, type ServiceSpec } from "@sdn/runtime";

/** The vr-manager service as the runtime starts it; tests start it in-process from here. */
export const vrManagerSpec: ServiceSpec<typeof BaseConfig.properties> = {
  name: "vr-manager",
  version: packageVersion(import.meta.url),
  description: "Virtual routers and their L3 rules, applied over SSH",
  config: BaseConfig,
};
