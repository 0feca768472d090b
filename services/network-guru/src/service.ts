import { packageVersion, RunLevel, type ServiceSpec } from "@sdn/runtime";
import { checkGuruConfig, GuruConfig } from "./config.js";
import { Guru } from "./guru.js";
import { guruHandlers } from "./handlers.js";

/** The network-guru service as the runtime starts it; tests start it in-process from here. */
export const networkGuruSpec: ServiceSpec<typeof GuruConfig.properties, Guru> = {
  name: "network-guru",
  version: packageVersion(import.meta.url),
  description: "Networks, GRE keys and IP address management",
  config: GuruConfig,
  setup: async (ctx) => {
    checkGuruConfig(ctx.config);
    const guru = await Guru.open({ nc: ctx.nc, events: ctx.events, config: ctx.config });
    return {
      handlers: guruHandlers(guru),
      state: guru,
      // Opened (and caught up) by setup; stopped with the replica so their watches end.
      components: [
        { name: "network-view", runLevel: RunLevel.Component, stop: () => guru.networkView.stop() },
        { name: "address-blocks", runLevel: RunLevel.Component, stop: () => guru.addressBlocks.stop() },
      ],
    };
  },
};
