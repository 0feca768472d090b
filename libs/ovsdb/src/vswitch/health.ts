import type { Row } from "../datum.js";
import { atomText, mapOf, optional } from "../datum.js";
import { TAG_MANAGED, TAG_NETWORK, TUNNEL_KEY_MAX } from "./tags.js";

/**
 * BFD timers of every tunnel (ovs-vswitchd.conf.db(5), Interface bfd column). With the
 * defaults a dead path is declared after mult x max(min_rx, the peer's min_tx) = 3 s.
 * The host programs (sdn_ovs.py BFD_DEFAULTS) use the same.
 */
export interface BfdTimers {
  minRxMs: number;
  minTxMs: number;
  mult: number;
}
export const BFD_DEFAULTS: BfdTimers = { minRxMs: 1000, minTxMs: 100, mult: 3 };

/**
 * The Interface.bfd column of a tunnel. check_tnl_key stays false: it makes BFD accept only
 * control packets with tunnel key 0 (OVN's key=flow tunnels), and ours carry the network's
 * fixed key; the port only takes packets with that key, so the key is checked anyway.
 */
export const bfdColumn = (t: BfdTimers): Record<string, string> => ({
  enable: "true",
  check_tnl_key: "false",
  min_rx: String(t.minRxMs),
  min_tx: String(t.minTxMs),
  mult: String(t.mult),
});

/** One managed tunnel's BFD as OVS reports it; the same shape as sdn_ovs.py tunnel_health. */
export interface TunnelBfdReading {
  port: string;
  networkId: string;
  remoteIp: string;
  bfdEnabled: boolean;
  bfdStatus: Record<string, string>;
}

/**
 * What a health monitor follows: a monitor of its own, so BFD status flapping every few
 * seconds never wakes the drift watchers of VSWITCH_MONITOR.
 */
export const TUNNEL_HEALTH_MONITOR = {
  Interface: ["name", "type", "options", "bfd", "bfd_status", "external_ids"],
};

const TUNNEL_TYPES = new Set(Object.keys(TUNNEL_KEY_MAX));

/** The managed tunnels' (GRE and VXLAN) BFD readings in a TUNNEL_HEALTH_MONITOR cache, by port name. */
export function readTunnelHealth(interfaces: ReadonlyMap<string, Row>): TunnelBfdReading[] {
  const out: TunnelBfdReading[] = [];
  for (const r of interfaces.values()) {
    const tags = mapOf(r.external_ids);
    const type = optional(r.type);
    const networkId = tags[TAG_NETWORK];
    if (type === undefined || !TUNNEL_TYPES.has(atomText(type)) || tags[TAG_MANAGED] !== "true" || !networkId) continue;
    out.push({
      port: atomText(optional(r.name) ?? ""),
      networkId,
      remoteIp: mapOf(r.options).remote_ip ?? "",
      bfdEnabled: mapOf(r.bfd).enable === "true",
      bfdStatus: mapOf(r.bfd_status),
    });
  }
  return out.sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : 0));
}
