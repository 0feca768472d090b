import {
  loadSecretKey,
  packageVersion,
  perService,
  RunLevel,
  SecretBox,
  type ServiceContext,
  type ServiceSpec,
} from "@sdn/runtime";
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

type Ctx = ServiceContext<VrConfig>;

/** The parts of one running vr-manager, built in its components and used by its handlers. */
class VrManager {
  parts: VrParts | undefined;
  private secrets: SecretBox | undefined;
  private channels: Channels | undefined;
  private watch: RouterWatch | undefined;
  private changes: NetworkWatch | undefined;
  private vrrp: PairWatch | undefined;

  constructor(private readonly ctx: Ctx) {}

  components() {
    const c = this.ctx.config;
    return [
      {
        name: "secret-key",
        runLevel: RunLevel.System,
        configure: () => {
          this.secrets = new SecretBox(loadSecretKey(c.SDN_SECRET_KEY, c.SDN_DATA_DIR, "vr-manager.key"));
        },
      },
      {
        name: "vr-state",
        runLevel: RunLevel.Framework,
        start: async () => {
          const store = await VrStore.open(this.ctx.nc);
          const identity = await loadIdentity(c.SDN_VR_SSH_KEY_FILE, store, this.secrets as SecretBox);
          const guru = new GuruClient(this.ctx.commands);
          this.channels = new Channels({
            nc: this.ctx.nc,
            identity,
            connectTimeoutMs: c.SDN_VR_CONNECT_TIMEOUT_MS,
            commandTimeoutMs: c.SDN_VR_COMMAND_TIMEOUT_MS,
            ...(c.SDN_VR_RELAY_KEY_FILE === undefined ? {} : { relayKeyFile: c.SDN_VR_RELAY_KEY_FILE }),
          });
          const element = new ElementClient(this.ctx.commands);
          const program = new RouterProgram(c.SDN_VR_PROGRAM_DIR);
          const pusher = new Pusher({
            store,
            sources: { guru, store, element, leaseSeconds: c.SDN_VR_DHCP_LEASE_SECONDS },
            channels: this.channels,
            program,
            lock: new PushLock(store, this.ctx.instanceId, c.SDN_VR_LOCK_MS),
            events: this.ctx.events,
            logger: this.ctx.logger,
            lockWaitMs: c.SDN_VR_LOCK_MS,
          });
          const pairs = new PairObserver(store, this.ctx.events);
          this.watch = new RouterWatch(store, pusher, this.ctx.logger, c.SDN_VR_CHECK_INTERVAL_MS, pairs);
          this.changes = new NetworkWatch(this.ctx.nc, pusher, this.ctx.logger);
          this.vrrp = new PairWatch({
            nc: this.ctx.nc,
            store,
            channels: this.channels,
            program,
            pusher,
            pairs,
            logger: this.ctx.logger,
          });
          this.parts = {
            registry: new RouterRegistry(store, guru, pusher, this.ctx.events, element),
            rules: new RuleManager(store, guru, pusher),
            identity,
          };
        },
        stop: () => this.channels?.closeAll(),
      },
      {
        name: "router-watch",
        runLevel: RunLevel.Component,
        start: () => {
          this.watch?.start();
          this.changes?.start();
          this.vrrp?.start();
        },
        stop: async () => {
          await this.vrrp?.stop();
          await this.changes?.stop();
          await this.watch?.stop();
        },
      },
    ];
  }
}

const managerOf = perService((ctx: Ctx) => new VrManager(ctx)).of;

/** The vr-manager service as the runtime starts it; tests start it in-process from here. */
export const vrManagerSpec: ServiceSpec<typeof VrConfig.properties> = {
  name: "vr-manager",
  version: packageVersion(import.meta.url),
  description: "Virtual routers and their L3 rules, applied over SSH",
  config: VrConfig,
  components: (ctx) => managerOf(ctx).components(),
  handlers: (ctx) =>
    vrHandlers(() => {
      const parts = managerOf(ctx).parts;
      if (parts === undefined) throw new Error("the vr-manager is not started");
      return parts;
    }),
};
