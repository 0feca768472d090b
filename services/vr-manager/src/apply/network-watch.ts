import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import {
  eventFilter,
  NetworkUpdated,
  NicPlugged,
  NicUnplugged,
  NicUpdated,
  PublicIpAcquired,
  PublicIpReleased,
  type EventDataOf,
  type EventDefinition,
  type EventEnvelope,
} from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { Pusher } from "./pusher.js";

/** An event that changes a network's router configuration, and how to find the network in it. */
interface Trigger<E extends EventDefinition = EventDefinition> {
  def: E;
  networkIdOf: (data: EventDataOf<E>) => string | undefined;
}

const trigger = <E extends EventDefinition>(def: E, networkIdOf: (data: EventDataOf<E>) => string | undefined) =>
  ({ def, networkIdOf }) as unknown as Trigger;

/** A guest NIC's change (a router's own NICs are the vr-manager's doing: it pushes itself). */
const guestNic = (d: { nic: { role: string; networkId: string } }) =>
  d.nic.role === "guest" ? d.nic.networkId : undefined;

const TRIGGERS: readonly Trigger[] = [
  // A public IP: the address on the public interface, source NAT on the first one.
  trigger(PublicIpAcquired, (d) => d.publicIp.networkId),
  trigger(PublicIpReleased, (d) => d.publicIp.networkId),
  // A guest NIC: its DHCP lease, DNS name, user data and metadata.
  trigger(NicPlugged, guestNic),
  trigger(NicUnplugged, guestNic),
  trigger(NicUpdated, guestNic),
  // The network's DNS domain or servers.
  trigger(NetworkUpdated, (d) => d.network.id),
];

/**
 * Public IPs belong to the network-guru and NICs to the ovs-element; when one changes, the
 * network's router gets its configuration at once. One replica takes each event (queue
 * group); one missed while no replica ran is caught by the periodic check. Pushes for one
 * network coalesce: events during a push lead to one more push after it, not one each
 * (a thousand NICs plugged in a burst are a handful of pushes).
 */
export class NetworkWatch {
  private subs: Subscription[] = [];
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly pusher: Pusher,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.subs = TRIGGERS.map(({ def, networkIdOf }) =>
      this.nc.subscribe(eventFilter({ service: def.service, event: def.name }), {
        queue: "vr-manager-network-changes",
        callback: (err, m) => {
          if (err !== null) return;
          let networkId: string | undefined;
          try {
            networkId = networkIdOf(m.json<EventEnvelope<EventDataOf<typeof def>>>().data);
          } catch {
            return;
          }
          if (networkId !== undefined) this.changed(networkId, def.name);
        },
      }),
    );
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }

  private changed(networkId: string, what: string): void {
    this.dirty.add(networkId);
    if (this.running.has(networkId)) return;
    this.running.add(networkId);
    void (async () => {
      while (this.dirty.delete(networkId)) {
        await this.pusher
          .pushNetwork(networkId)
          .catch((e: unknown) => this.logger.warn({ err: e, networkId, what }, "push after a network change failed"));
      }
      this.running.delete(networkId);
    })();
  }
}
