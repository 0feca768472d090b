import {
  loadSecretKey,
  packageVersion,
  RunLevel,
  SecretBox,
  type ServiceContext,
  type ServiceSpec,
} from "@sdn/runtime";
import { deriveSealingKeyPair, publishSealingKey } from "@sdn/bus";
import { join } from "node:path";
import { HostLeases } from "./agent/lease.js";
import { HostManager } from "./agent/host-manager.js";
import { AgentConfig } from "./config.js";
import { SIMULATOR_DIR } from "./drivers/factory.js";
import { hostHandlers } from "./handlers.js";
import { HostRegistry } from "./registry/host-registry.js";
import { HostStore } from "./registry/host-store.js";

/** What one running agent built (tests look at which hosts a replica serves). */
export interface Agent {
  readonly registry: HostRegistry;
  readonly manager: HostManager;
}

const warnIfSimulated = (ctx: ServiceContext<AgentConfig>): void => {
  if (!ctx.config.SDN_AGENT_SIMULATOR) return;
  ctx.logger.warn(
    { stateDir: join(ctx.config.SDN_DATA_DIR, SIMULATOR_DIR) },
    "SDN_AGENT_SIMULATOR is on: every host is SIMULATED, nothing is done on any real host",
  );
};

/** The hypervisor-agent service as the runtime starts it; tests start it in-process from here. */
export const hypervisorAgentSpec: ServiceSpec<typeof AgentConfig.properties, Agent> = {
  name: "hypervisor-agent",
  version: packageVersion(import.meta.url),
  description: "Host registry and drivers (XAPI, KVM) with host-side programs",
  config: AgentConfig,
  setup: async (ctx) => {
    const key = loadSecretKey(ctx.config.SDN_SECRET_KEY, ctx.config.SDN_DATA_DIR, "hypervisor-agent.key");
    const sealing = deriveSealingKeyPair(key);
    warnIfSimulated(ctx);
    const store = await HostStore.open(ctx.nc);
    const registry = new HostRegistry(
      store,
      new SecretBox(key),
      sealing,
      ctx.events,
      ctx.config,
      `sdn-hypervisor-agent/${ctx.instanceId}`,
    );
    const manager = new HostManager({
      nc: ctx.nc,
      logger: ctx.logger,
      events: ctx.events,
      config: ctx.config,
      instanceId: ctx.instanceId,
      store,
      registry,
      leases: await HostLeases.open(ctx.nc, ctx.instanceId, ctx.config.SDN_AGENT_LEASE_MS),
      sealing,
    });
    return {
      state: { registry, manager },
      handlers: hostHandlers(registry),
      components: [
        {
          name: "sealing-key",
          runLevel: RunLevel.Framework,
          // Published before commands are served, so a sender can seal AddHost credentials to it.
          start: async () => {
            const replaced = await publishSealingKey(ctx.nc, sealing.publicKey);
            if (replaced !== undefined) {
              ctx.logger.warn(
                { previousKeyId: replaced.keyId, keyId: sealing.publicKey.keyId },
                "replaced another sealing key: agent replicas must share SDN_SECRET_KEY, or credentials sealed to one do not open on another",
              );
            }
          },
        },
        {
          name: "host-manager",
          runLevel: RunLevel.Component,
          start: () => manager.start(),
          stop: () => manager.stop(),
        },
      ],
    };
  },
};
