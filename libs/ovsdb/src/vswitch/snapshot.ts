import { type Row, atomText, mapOf, optional, uuidsOf } from "../datum.js";
import { TAG_MANAGED, TAG_NETWORK } from "./tags.js";

/** Rows of the four tables by uuid, e.g. a monitor's cache on VSWITCH_MONITOR. */
export interface VswitchRows {
  rows(table: "Open_vSwitch" | "Bridge" | "Port" | "Interface"): ReadonlyMap<string, Row>;
}

export interface InterfaceView {
  uuid: string;
  name: string;
  type: string;
  options: Record<string, string>;
  ofport: number | null;
  error: string | null;
  mac: string | null;
  externalIds: Record<string, string>;
}
export interface PortView {
  uuid: string;
  name: string;
  protected: boolean;
  externalIds: Record<string, string>;
  interfaces: InterfaceView[];
}
export interface BridgeView {
  uuid: string;
  name: string;
  datapathType: string;
  managed: boolean;
  networkId: string | null;
  externalIds: Record<string, string>;
  ports: PortView[];
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const text = (r: Row, c: string): string => (r[c] === undefined ? "" : atomText(optional(r[c]) ?? ""));

function interfaceView(uuid: string, r: Row): InterfaceView {
  const ofport = optional(r.ofport);
  const error = optional(r.error);
  const mac = optional(r.mac_in_use);
  return {
    uuid,
    name: text(r, "name"),
    type: text(r, "type") || "system",
    options: mapOf(r.options),
    ofport: typeof ofport === "number" ? ofport : null,
    error: error === undefined ? null : atomText(error),
    mac: mac === undefined ? null : atomText(mac),
    externalIds: mapOf(r.external_ids),
  };
}

/**
 * Typed bridges with their ports and interfaces, as sdn_ovs.py's ovs_state reports them
 * (the GetOvsState answer), attached to the root row only: a bridge no longer in
 * Open_vSwitch.bridges is gone even if a stale row lingers.
 */
export function readBridges(s: VswitchRows): BridgeView[] {
  const ifaces = s.rows("Interface");
  const ports = s.rows("Port");
  const bridges = s.rows("Bridge");
  const attached = new Set([...s.rows("Open_vSwitch").values()].flatMap((r) => uuidsOf(r.bridges)));
  const portView = (uuid: string, r: Row): PortView => ({
    uuid,
    name: text(r, "name"),
    protected: optional(r.protected) === true,
    externalIds: mapOf(r.external_ids),
    interfaces: uuidsOf(r.interfaces)
      .flatMap((u) => {
        const i = ifaces.get(u);
        return i ? [interfaceView(u, i)] : [];
      })
      .sort(byName),
  });
  const out: BridgeView[] = [];
  for (const [uuid, b] of bridges) {
    if (!attached.has(uuid)) continue;
    const externalIds = mapOf(b.external_ids);
    out.push({
      uuid,
      name: text(b, "name"),
      datapathType: text(b, "datapath_type") || "system",
      managed: externalIds[TAG_MANAGED] === "true",
      networkId: externalIds[TAG_NETWORK] ?? null,
      externalIds,
      ports: uuidsOf(b.ports)
        .flatMap((u) => {
          const p = ports.get(u);
          return p ? [portView(u, p)] : [];
        })
        .sort(byName),
    });
  }
  return out.sort(byName);
}

/** The bridge tagged with the network, if any. */
export function bridgeOf(s: VswitchRows, networkId: string): BridgeView | undefined {
  return readBridges(s).find((b) => b.networkId === networkId);
}
