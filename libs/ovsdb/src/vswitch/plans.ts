import { isIPv4 } from "node:net";
import { type Row, namedUuid, ovsMap, ovsSet, uuid, uuidsOf } from "../datum.js";
import type { Operation } from "../operations.js";
import { BFD_DEFAULTS, type BfdTimers, bfdColumn } from "./health.js";
import { type BridgeView, type VswitchRows, bridgeOf, readBridges } from "./snapshot.js";
import {
  TAG_MANAGED,
  TAG_NETWORK,
  TAG_PEER_HOST,
  TAG_REMOTE_IP,
  TAG_ROLE,
  TUNNEL_KEY_MAX,
  type TunnelSpec,
  tunnelPortName,
} from "./tags.js";

/** A request the host would refuse; codes are the host programs' (sdn_ovs.py HostError). */
export class VswitchPlanError extends Error {
  override readonly name = "VswitchPlanError";
  constructor(
    readonly hostError:
      "BRIDGE_NOT_FOUND" | "BRIDGE_CONFLICT" | "INVALID_ARGUMENT" | "NOT_AN_OVS_HOST" | "IPSEC_DATAPATH_UNSUPPORTED",
    message: string,
  ) {
    super(message);
  }
}

/** One transaction's operations and the answer it gives once committed. */
export interface Plan<R> {
  ops: Operation[];
  result: R;
}

function root(s: VswitchRows): [string, Row] {
  const first = [...s.rows("Open_vSwitch").entries()][0];
  if (!first) throw new VswitchPlanError("NOT_AN_OVS_HOST", "the Open_vSwitch database has no root row");
  return first;
}

/**
 * Guards a plan made from a cached snapshot: the transaction only commits if `column` of
 * the row still holds what the plan saw. A stale cache makes it fail ("timed out"), and
 * the caller retries with a fresher one, instead of undoing a change it never saw.
 */
function unchanged(table: string, rowUuid: string, column: string, uuids: string[]): Operation {
  return {
    op: "wait",
    table,
    where: [["_uuid", "==", uuid(rowUuid)]],
    columns: [column],
    until: "==",
    rows: [{ [column]: ovsSet(uuids.map(uuid)) }],
    timeout: 0,
  };
}

/**
 * Fail closed, as sdn_ipsec.py: the kernel's IPsec never sees the tunnel packets of a
 * userspace (netdev) bridge, so an encrypted network's tunnels there would carry cleartext.
 */
function checkIpsecDatapath(bridge: BridgeView): void {
  if (bridge.datapathType === "system") return;
  throw new VswitchPlanError(
    "IPSEC_DATAPATH_UNSUPPORTED",
    `bridge ${bridge.name} runs the ${bridge.datapathType} datapath: its tunnel packets bypass the kernel's IPsec, ` +
      "so an encrypted network's tunnels would carry cleartext; refused (use the kernel datapath)",
  );
}

/**
 * other_config:ipsec_skb_mark, so the kernel drops tunnel packets no SA covers while one
 * comes up; a map "insert" keeps a value an admin already set (sdn_ipsec.SKB_MARK).
 */
function ipsecSkbMark(s: VswitchRows): Operation {
  const [rootUuid] = root(s);
  return {
    op: "mutate",
    table: "Open_vSwitch",
    where: [["_uuid", "==", uuid(rootUuid)]],
    mutations: [["other_config", "insert", ovsMap({ ipsec_skb_mark: IPSEC_SKB_MARK })]],
  };
}

/** OVS's documented mark for ipsec_skb_mark (the same as sdn_ipsec.py's). */
export const IPSEC_SKB_MARK = "0/1";

/** Ensures the network's bridge, with sdn_ovs.py setup_bridge's conflict rules. */
export function setupBridgePlan(
  s: VswitchRows,
  bridge: string,
  networkId: string,
): Plan<{ bridge: string; created: boolean }> {
  const bridges = readBridges(s);
  for (const b of bridges) {
    if (b.name === bridge && b.networkId !== null && b.networkId !== networkId) {
      throw new VswitchPlanError("BRIDGE_CONFLICT", `bridge ${bridge} already belongs to network ${b.networkId}`);
    }
    if (b.name !== bridge && b.networkId === networkId) {
      throw new VswitchPlanError("BRIDGE_CONFLICT", `network ${networkId} already has bridge ${b.name} on this host`);
    }
  }
  const tags = { [TAG_MANAGED]: "true", [TAG_NETWORK]: networkId, [TAG_ROLE]: "network" };
  const existing = bridges.find((b) => b.name === bridge);
  if (existing) {
    const row = { external_ids: ovsMap({ ...existing.externalIds, ...tags }) };
    // "created": newly set up for this network, as the host program says. On XAPI hosts
    // network.attach has usually made the bridge already (xcp-networkd), untagged: the
    // tags make it ours, and nothing of ours (tunnels, ports) is on it yet.
    return {
      ops: [{ op: "update", table: "Bridge", where: [["_uuid", "==", uuid(existing.uuid)]], row }],
      result: { bridge, created: existing.networkId !== networkId },
    };
  }
  const [rootUuid, rootRow] = root(s);
  // Tunnels only work inside the datapath that holds the underlay: follow the existing bridges.
  const datapath = bridges.find((b) => b.datapathType !== "system")?.datapathType;
  return {
    ops: [
      unchanged("Open_vSwitch", rootUuid, "bridges", uuidsOf(rootRow.bridges)),
      { op: "insert", table: "Interface", row: { name: bridge, type: "internal" }, "uuid-name": "iface" },
      { op: "insert", table: "Port", row: { name: bridge, interfaces: namedUuid("iface") }, "uuid-name": "port" },
      {
        op: "insert",
        table: "Bridge",
        row: {
          name: bridge,
          ports: namedUuid("port"),
          external_ids: ovsMap(tags),
          ...(datapath ? { datapath_type: datapath } : {}),
        },
        "uuid-name": "bridge",
      },
      {
        op: "mutate",
        table: "Open_vSwitch",
        where: [],
        mutations: [["bridges", "insert", ovsSet([namedUuid("bridge")])]],
      },
    ],
    result: { bridge, created: true },
  };
}

/** Removes the network's bridge (its ports and interfaces go with it: they are not root rows). */
export function destroyBridgePlan(
  s: VswitchRows,
  networkId: string,
): Plan<{ bridge: string | null; destroyed: boolean }> {
  const b = bridgeOf(s, networkId);
  if (!b) return { ops: [], result: { bridge: null, destroyed: false } };
  return {
    ops: [{ op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "delete", uuid(b.uuid)]] }],
    result: { bridge: b.name, destroyed: true },
  };
}

export interface TunnelRemote {
  ip: string;
  hostId?: string;
}
export interface TunnelSetResult {
  bridge: string;
  added: string[];
  removed: string[];
  tunnels: { port: string; remoteIp: string }[];
}

/**
 * Makes the network's tunnels (GRE or VXLAN, with its key) exactly `remotes`, in one
 * transaction, as sdn_ovs.py apply_tunnels does: extra tagged tunnels removed, missing ones
 * added, every desired one re-stated (type, remote_ip, key, tags, protected=true for split
 * horizon, BFD), so drift such as a lost option or a reset protected flag is repaired too.
 * VXLAN keeps OVS's default UDP port, 4789.
 */
export function applyTunnelsPlan(
  s: VswitchRows,
  networkId: string,
  tunnel: TunnelSpec,
  remotes: TunnelRemote[],
  bfdTimers: BfdTimers = BFD_DEFAULTS,
): Plan<TunnelSetResult> {
  const { type, key } = tunnel;
  const max = TUNNEL_KEY_MAX[type] as number | undefined;
  if (max === undefined) throw new VswitchPlanError("INVALID_ARGUMENT", `tunnel type '${type}' is not gre or vxlan`);
  if (!Number.isInteger(key) || key < 0 || key > max) {
    throw new VswitchPlanError(
      "INVALID_ARGUMENT",
      `argument 'key' of a ${type} tunnel must be an integer from 0 to ${max}`,
    );
  }
  const desired = new Map<string, TunnelRemote>();
  for (const r of remotes) {
    if (!isIPv4(r.ip)) throw new VswitchPlanError("INVALID_ARGUMENT", `remote ${r.ip} is not an IPv4 address`);
    const name = tunnelPortName(key, r.ip, type);
    if (desired.has(name)) throw new VswitchPlanError("INVALID_ARGUMENT", `remote ${r.ip} is listed twice`);
    desired.set(name, r);
  }
  const bridges = readBridges(s);
  const bridge = bridges.find((b) => b.networkId === networkId);
  if (!bridge) {
    throw new VswitchPlanError("BRIDGE_NOT_FOUND", `no bridge for network ${networkId} on this host; set it up first`);
  }
  if (tunnel.psk !== undefined) checkIpsecDatapath(bridge);
  const tagged = (b: BridgeView) =>
    b.ports.filter((p) => p.externalIds[TAG_NETWORK] === networkId && p.externalIds[TAG_ROLE] === "tunnel");
  const ops: Operation[] = [];
  const removed: string[] = [];
  for (const b of bridges) {
    const extra = tagged(b).filter((p) => !desired.has(p.name));
    if (extra.length === 0) continue;
    removed.push(...extra.map((p) => p.name));
    ops.push({
      op: "mutate",
      table: "Bridge",
      where: [["_uuid", "==", uuid(b.uuid)]],
      mutations: [["ports", "delete", ovsSet(extra.map((p) => uuid(p.uuid)))]],
    });
  }
  const existing = new Set(tagged(bridge).map((p) => p.name));
  const onBridge = new Map(bridge.ports.map((p) => [p.name, p]));
  const added: string[] = [];
  const inserted: string[] = [];
  for (const [name, r] of [...desired].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!existing.has(name)) added.push(name);
    const portTags: Record<string, string> = {
      [TAG_MANAGED]: "true",
      [TAG_NETWORK]: networkId,
      [TAG_ROLE]: "tunnel",
      [TAG_REMOTE_IP]: r.ip,
    };
    if (r.hostId) portTags[TAG_PEER_HOST] = r.hostId;
    const ifaceTags = { [TAG_MANAGED]: "true", [TAG_NETWORK]: networkId };
    const options = { remote_ip: r.ip, key: String(key), ...(tunnel.psk === undefined ? {} : { psk: tunnel.psk }) };
    const bfd = ovsMap(bfdColumn(bfdTimers));
    const port = onBridge.get(name);
    if (port) {
      ops.push({
        op: "update",
        table: "Port",
        where: [["_uuid", "==", uuid(port.uuid)]],
        row: { protected: true, external_ids: ovsMap({ ...port.externalIds, ...portTags }) },
      });
      for (const i of port.interfaces.filter((x) => x.name === name)) {
        ops.push({
          op: "update",
          table: "Interface",
          where: [["_uuid", "==", uuid(i.uuid)]],
          row: {
            type,
            options: ovsMap({ ...i.options, ...options }),
            bfd,
            external_ids: ovsMap({ ...i.externalIds, ...ifaceTags }),
          },
        });
      }
      continue;
    }
    const n = inserted.length;
    inserted.push(`port${n}`);
    ops.push(
      {
        op: "insert",
        table: "Interface",
        row: { name, type, options: ovsMap(options), bfd, external_ids: ovsMap(ifaceTags) },
        "uuid-name": `iface${n}`,
      },
      {
        op: "insert",
        table: "Port",
        row: { name, interfaces: namedUuid(`iface${n}`), protected: true, external_ids: ovsMap(portTags) },
        "uuid-name": `port${n}`,
      },
    );
  }
  if (tunnel.psk !== undefined && ops.length > 0) ops.push(ipsecSkbMark(s));
  if (inserted.length > 0) {
    ops.push({
      op: "mutate",
      table: "Bridge",
      where: [["_uuid", "==", uuid(bridge.uuid)]],
      mutations: [["ports", "insert", ovsSet(inserted.map(namedUuid))]],
    });
  }
  if (ops.length > 0)
    ops.unshift(
      unchanged(
        "Bridge",
        bridge.uuid,
        "ports",
        bridge.ports.map((p) => p.uuid),
      ),
    );
  return {
    ops,
    result: {
      bridge: bridge.name,
      added,
      removed: removed.sort(),
      tunnels: [...desired].map(([port, r]) => ({ port, remoteIp: r.ip })).sort((a, b) => (a.port < b.port ? -1 : 1)),
    },
  };
}
