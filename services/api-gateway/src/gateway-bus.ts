import type { NatsConnection } from "@nats-io/transport-node";
import type { CommandClient } from "@sdn/bus";

/** What the gateway's routes use of the bus. */
export interface GatewayBus {
  readonly nc: NatsConnection;
  readonly commands: CommandClient;
}
