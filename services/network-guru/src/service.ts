import { packageVersion, perService, RunLevel, type ServiceContext, type ServiceSpec } from "@sdn/runtime";
import { checkGuruConfig, GuruConfig } from "./config.js";
import { Guru } from "./guru.js";
import { guruHandlers } from "./handlers.js";

/** One Guru per started replica (tests start several in one process). */
const guruOf = perService(
  (ctx: ServiceContext<GuruConfig>) => new Guru({ nc: ctx.nc, events: ctx.events, config: ctx.config }),
).of;

/** The network-guru service as the runtime starts it; tests start it in-process from here. */
export const networkGuruSpec: ServiceSpec<typeof GuruConfig.properties> = {
  name: "network-guru",
  version: packageVersion(import.meta.url),
  description: "Networks, GRE keys and IP address management",
  config: GuruConfig,
  handlers: (ctx) => guruHandlers(guruOf(ctx)),
  components: (ctx) => [
    {
      name: "guru-state",
      runLevel: RunLevel.Component,
      configure: () => checkGuruConfig(ctx.config),
      start: () => guruOf(ctx).open(),
    },
  ],
};
