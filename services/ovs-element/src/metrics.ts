import { metrics } from "@sdn/bus";
import type { ElementStore } from "./store.js";

/** Networks found drifted on a host and repaired (one per network and host per round). */
export const reconcileRepairs = metrics.counter(
  "sdn_reconcile_repairs_total",
  "Networks whose bridge, tunnels or NIC ports on a host drifted and were repaired by reconciliation",
);
/** Hosts a round could not read: their drift stays unseen until they answer. */
export const reconcileUnread = metrics.counter(
  "sdn_reconcile_unread_hosts_total",
  "Hosts a reconciliation round could not read (agent unreachable or failing)",
);

const tunnels = metrics.gauge(
  "sdn_tunnels",
  "Tunnel rows (one per direction between two hosts of a network) by the state of their host's tunnel set",
  ["state"],
);

/**
 * Counts the tunnel rows in KV at every scrape; returns what stops it. Every replica reads
 * the same bucket: aggregate with max(), not sum().
 */
export const collectTunnelStates = (store: ElementStore): (() => void) =>
  tunnels.collect(async () => {
    const counts = new Map<string, number>([
      ["Created", 0],
      ["Established", 0],
      ["Failed", 0],
    ]);
    for (const { value } of await store.tunnels.entries()) {
      counts.set(value.state, (counts.get(value.state) ?? 0) + value.rows.length);
    }
    return [...counts].map(([state, value]) => ({ labels: { state }, value }));
  });
