import {
  loadSecretKey,
  packageVersion,
  perService,
  RunLevel,
  SecretBox,
  type ServiceContext,
  type ServiceSpec,
} from "@sdn/runtime";
import { join } from "node:path";
import { HostLeases } from "./agent/lease.js";
import { HostManager } from "./agent/host-manager.js";
import { AgentConfig } from "./config.js";
import { SIMULATOR_DIR } from "./drivers/factory.js";
import { hostHandlers } from "./handlers.js";
import { HostRegistry } from "./registry/host-registry.js";
import { HostStore } from "./registry/host-store.js";

type Ctx = ServiceContext<AgentConfig>;

/** The parts of one running agent, built in its components and used by its handlers. */
class Agent {
  registry: HostRegistry | undefined;
  manager: HostManager | undefined;
  private secrets: SecretBox | undefined;

  constructor(private readonly ctx: Ctx) {}

  components() {
    return [
      {
        name: "secret-key",
        runLevel: RunLevel.System,
        configure: () => {
          this.secrets = new SecretBox(
            loadSecretKey(this.ctx.config.SDN_SECRET_KEY, this.ctx.config.SDN_DATA_DIR, "hypervisor-agent.key"),
          );
        },
      },
      {
        name: "host-registry",
        runLevel: RunLevel.Framework,
        start: async () => {
          if (this.ctx.config.SDN_AGENT_SIMULATOR) {
            this.ctx.logger.warn(
              { stateDir: join(this.ctx.config.SDN_DATA_DIR, SIMULATOR_DIR) },
              "SDN_AGENT_SIMULATOR is on: every host is SIMULATED, nothing is done on any real host",
            );
          }
          const store = await HostStore.open(this.ctx.nc);
          this.registry = new HostRegistry(
            store,
            this.secrets as SecretBox,
            this.ctx.events,
            this.ctx.config,
            `sdn-hypervisor-agent/${this.ctx.instanceId}`,
          );
          this.manager = new HostManager({
            nc: this.ctx.nc,
            logger: this.ctx.logger,
            events: this.ctx.events,
            config: this.ctx.config,
            instanceId: this.ctx.instanceId,
            store,
            registry: this.registry,
            leases: await HostLeases.open(this.ctx.nc, this.ctx.instanceId, this.ctx.config.SDN_AGENT_LEASE_MS),
          });
        },
      },
      {
        name: "host-manager",
        runLevel: RunLevel.Component,
        start: () => this.manager?.start(),
        stop: () => this.manager?.stop(),
      },
    ];
  }
}

const agents = perService((ctx: Ctx) => new Agent(ctx));
const agentOf = agents.of;

/** The running agent's host manager (tests look at which hosts a replica serves). */
export const hostManagerOf = (ctx: object): HostManager | undefined => agents.find(ctx as Ctx)?.manager;

/** The hypervisor-agent service as the runtime starts it; tests start it in-process from here. */
export const hypervisorAgentSpec: ServiceSpec<typeof AgentConfig.properties> = {
  name: "hypervisor-agent",
  version: packageVersion(import.meta.url),
  description: "Host registry and drivers (XAPI, KVM) with host-side programs",
  config: AgentConfig,
  components: (ctx) => agentOf(ctx).components(),
  handlers: (ctx) =>
    hostHandlers(() => {
      const registry = agentOf(ctx).registry;
      if (registry === undefined) throw new Error("the host registry is not started");
      return registry;
    }),
};
