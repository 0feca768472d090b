import {
  loadSecretKey,
  packageVersion,
  perService,
  RunLevel,
  SecretBox,
  type ServiceContext,
  type ServiceSpec,
} from "@sdn/runtime";
import { deriveSealingKeyPair, publishSealingKey, type SealingKeyPair } from "@sdn/bus";
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
  private sealing: SealingKeyPair | undefined;

  constructor(private readonly ctx: Ctx) {}

  components() {
    return [
      {
        name: "secret-key",
        runLevel: RunLevel.System,
        configure: () => {
          const key = loadSecretKey(
            this.ctx.config.SDN_SECRET_KEY,
            this.ctx.config.SDN_DATA_DIR,
            "hypervisor-agent.key",
          );
          this.secrets = new SecretBox(key);
          this.sealing = deriveSealingKeyPair(key);
        },
      },
      {
        name: "sealing-key",
        runLevel: RunLevel.Framework,
        // Published before commands are served, so a sender can seal AddHost credentials to it.
        start: async () => {
          const sealing = this.sealing as SealingKeyPair;
          const replaced = await publishSealingKey(this.ctx.nc, sealing.publicKey);
          if (replaced !== undefined) {
            this.ctx.logger.warn(
              { previousKeyId: replaced.keyId, keyId: sealing.publicKey.keyId },
              "replaced another sealing key: agent replicas must share SDN_SECRET_KEY, or credentials sealed to one do not open on another",
            );
          }
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
            this.sealing as SealingKeyPair,
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
            sealing: this.sealing as SealingKeyPair,
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
