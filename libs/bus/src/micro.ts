import type { NatsConnection } from "@nats-io/transport-node";
import { Svcm, type Service } from "@nats-io/services";
import { serviceEndpointGroup, type CommandServiceName } from "@sdn/contracts";
import type { BoundHandler } from "./dispatch.js";
import type { BusLogger } from "./logger.js";
import { commandStats } from "./metrics/bus-metrics.js";
import { addRequestEndpoints, type RequestEndpoints } from "./request-endpoints.js";

export interface MicroRegistration {
  name: string;
  version: string;
  description: string;
  instanceId: string;
  /**
   * The health report served on `sdn.svc.<name>.Health` (any replica) and in this
   * replica's `$SRV.STATS.<name>.<id>` (the Health endpoint's data, for a local check);
   * `status` is "up" when healthy.
   */
  health: () => Promise<object>;
  logger: BusLogger;
  /** A command service's handlers: its request-tier commands become endpoints. */
  requests?: { service: CommandServiceName; handlers: readonly BoundHandler[] };
}

/** The registration, and its request-tier endpoints (none for a service without commands). */
export interface MicroService {
  service: Service;
  requests: RequestEndpoints | undefined;
}

/**
 * Registers the service with the NATS services ("micro") framework so `$SRV.PING`,
 * `$SRV.INFO` and `$SRV.STATS` answer for it, and serves its Health endpoint and its
 * request-tier commands (see request-endpoints.ts).
 *
 * Durable commands are not micro endpoints: they arrive through the JetStream consumer,
 * and an endpoint on a durable subject would see each publish without handling it (and
 * answer the publisher's ack inbox). So `$SRV.STATS` also carries what dispatch measured,
 * per command and for both tiers, in the Health endpoint's `data.commands`.
 */
export const registerMicro = async (nc: NatsConnection, reg: MicroRegistration): Promise<MicroService> => {
  const svc = await new Svcm(nc).add({
    name: reg.name,
    version: reg.version,
    description: reg.description,
    metadata: { instance: reg.instanceId },
    // Health must reach every replica's own queue group member; a shared queue is right:
    // readiness asks "is any replica answering".
    queue: reg.name,
    // The Health endpoint's stats: its report (status "up" or not, read by the container
    // health check) and the figures of every command this process handled.
    statsHandler: async () => ({ ...(await reg.health()), commands: commandStats() }),
  });
  svc.addGroup(serviceEndpointGroup(reg.name)).addEndpoint("Health", {
    handler: (err, m) => {
      if (err !== null) {
        reg.logger.warn({ err }, "health endpoint error");
        return;
      }
      void reg.health().then(
        (report) => m.respond(JSON.stringify(report)),
        (e: unknown) => reg.logger.warn({ err: e }, "health report failed"),
      );
    },
    metadata: { description: "Liveness report of one replica" },
  });
  const requests =
    reg.requests === undefined ? undefined : addRequestEndpoints(svc, { ...reg.requests, logger: reg.logger });
  return { service: svc, requests };
};
