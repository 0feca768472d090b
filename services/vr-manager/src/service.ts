import { loadSecretKey, packageVersion, RunLevel, SecretBox, type ServiceSpec } from "@sdn/runtime";
import { NetworkWatch } from "./apply/network-watch.js";
import { Pusher } from "./apply/pusher.js";
import { PushLock } from "./apply/push-lock.js";
import { VrConfig } from "./config.js";
import { GuruClient } from "./guru-client.js";
import { vrHandlers, type VrParts } from "./handlers.js";
import { loadIdentity } from "./identity.js";
import { ElementClient } from "./routers/element-client.js";
import { PairObserver } from "./routers/redundancy.js";
import { RouterRegistry } from "./routers/router-registry.js";
import { RouterWatch } from "./routers/router-watch.js";
import { PairWatch } from "./routers/vrrp-watch.js";
import { RuleManager } from "./rules/rule-manager.js";
import { VrStore } from "./store.js";
import { Channels } from "./transport/channels.js";
import { RouterProgram } from "./transport/router-program.js";

/** The vr-manager service as the runtime starts it; tests start it in-process from here. */
export const vrManagerSpec: ServiceSpec<typeof VrConfig.properties, VrParts> = {
  name: "vr-manager",
  version: packageVersion(import.meta.url),
  description: "Virtual routers and their L3 rules, applied over SSH",
  config: VrConfig,
  setup: async (ctx) => {
    const c = ctx.config;
    const secrets = new SecretBox(loadSecretKey(c.SDN_SECRET_KEY, c.SDN_DATA_DIR, "vr-manager.key"));
    const store = await VrStore.open(ctx.nc);
    const identity = await loadIdentity(c.SDN_VR_SSH_KEY_FILE, store, secrets);
    const guru = new GuruClient(ctx.commands);
    const channels = new Channels({
      nc: ctx.nc,
      identity,
      connectTimeoutMs: c.SDN_VR_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: c.SDN_VR_COMMAND_TIMEOUT_MS,
      ...(c.SDN_VR_RELAY_KEY_FILE === undefined ? {} : { relayKeyFile: c.SDN_VR_RELAY_KEY_FILE }),
    });
    const element = new ElementClient(ctx.commands);
    const program = new RouterProgram(c.SDN_VR_PROGRAM_DIR);
    const pusher = new Pusher({
      store,
      sources: { guru, store, element, leaseSeconds: c.SDN_VR_DHCP_LEASE_SECONDS },
      channels,
      program,
      lock: new PushLock(store, ctx.instanceId, c.SDN_VR_LOCK_MS),
      events: ctx.events,
      logger: ctx.logger,
      lockWaitMs: c.SDN_VR_LOCK_MS,
    });
    const pairs = new PairObserver(store, ctx.events);
    const watch = new RouterWatch(store, pusher, ctx.logger, c.SDN_VR_CHECK_INTERVAL_MS, pairs);
    const changes = new NetworkWatch(ctx.nc, pusher, ctx.logger);
    const vrrp = new PairWatch({ nc: ctx.nc, store, channels, program, pusher, pairs, logger: ctx.logger });
    const parts: VrParts = {
      registry: new RouterRegistry(store, guru, pusher, ctx.events, element),
      rules: new RuleManager(store, guru, pusher),
      identity,
    };
    return {
      state: parts,
      handlers: vrHandlers(parts),
      components: [
        { name: "router-channels", runLevel: RunLevel.Framework, stop: () => channels.closeAll() },
        {
          name: "router-watch",
          runLevel: RunLevel.Component,
          start: () => {
            watch.start();
            changes.start();
            vrrp.start();
          },
          stop: async () => {
            await vrrp.stop();
            await changes.stop();
            await watch.stop();
          },
        },
      ],
    };
  },
};
