import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { eventFilter, PublicIpAcquired, PublicIpReleased, type EventDataOf, type EventEnvelope } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { Pusher } from "./pusher.js";

/**
 * A network's public IPs belong to the network-guru; when one is acquired or released,
 * the network's router gets its configuration at once (the address on its public
 * interface, source NAT on the first one). One replica takes each event (queue group);
 * one missed while no replica ran is caught by the periodic check.
 */
export class PublicIpWatch {
  private subs: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly pusher: Pusher,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.subs = [PublicIpAcquired, PublicIpReleased].map((def) =>
      this.nc.subscribe(eventFilter({ service: def.service, event: def.name }), {
        queue: "vr-manager-public-ips",
        callback: (err, m) => {
          if (err !== null) return;
          let networkId: string;
          try {
            networkId = m.json<EventEnvelope<EventDataOf<typeof PublicIpAcquired>>>().data.publicIp.networkId;
          } catch {
            return;
          }
          void this.pusher
            .pushNetwork(networkId)
            .catch((e: unknown) => this.logger.warn({ err: e, networkId }, "push after a public IP change failed"));
        },
      }),
    );
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }
}
