import type {
  ApplyTunnels,
  DestroyBridge,
  GetOvsState,
  Hypervisor,
  ListVms,
  PlugVif,
  RequestOf,
  ResponseOf,
  SetupBridge,
  UnplugVif,
} from "@sdn/contracts";
import { tunnelPortName } from "@sdn/ovsdb";
import { createHash } from "node:crypto";
import { HostProgramError } from "../errors.js";
import { kvmBridgeName } from "../kvm/kvm-driver.js";
import { tunnelOf } from "../tunnel-spec.js";

/*
 * One simulated host's Open vSwitch and guests, as plain data (what the state file holds),
 * and the host programs' functions over it. The answers and error codes are those of
 * host/sdn_ovs.py, the reference: the same tags, the same idempotency, the same refusals.
 */

const TAG_MANAGED = "sdn-managed";
const TAG_NETWORK = "sdn-network-id";
const TAG_ROLE = "sdn-role";

export interface SimInterface {
  type: string;
  options: Record<string, string>;
  externalIds: Record<string, string>;
  ofport: number;
}

export interface SimPort {
  name: string;
  protected: boolean;
  externalIds: Record<string, string>;
  iface: SimInterface;
}

export interface SimBridge {
  name: string;
  externalIds: Record<string, string>;
  ports: SimPort[];
  /** The next OpenFlow port number; the bridge's own internal port is LOCAL. */
  nextOfport: number;
}

/** A guest's virtual NIC: its port in the host's switch (vifD.N on XAPI, vnetN on KVM). */
export interface SimGuestNic {
  device: string;
  mac: string;
}

export interface SimGuest {
  id: string;
  name: string;
  nics: SimGuestNic[];
}

export interface SimHostState {
  address: string;
  hypervisor: Hypervisor;
  guests: SimGuest[];
  bridges: SimBridge[];
}

/** How many guests a simulated host runs, and NICs per guest: enough for several networks. */
export const SIMULATED_GUESTS = 4;
export const NICS_PER_GUEST = 2;

const hashOf = (text: string): string => createHash("sha256").update(text).digest("hex");

/** A stable UUID-shaped id, as XAPI and libvirt give their VMs. */
const uuidOf = (seed: string): string => {
  const h = hashOf(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

/** A locally administered unicast MAC (02:...), stable per seed. */
const macOf = (seed: string): string => `02:${(hashOf(seed).slice(0, 10).match(/../g) as string[]).join(":")}`;

/** A new host: no bridges, and its guests named and numbered as the hypervisor does. */
export const newHostState = (address: string, hypervisor: Hypervisor): SimHostState => ({
  address,
  hypervisor,
  bridges: [],
  guests: Array.from({ length: SIMULATED_GUESTS }, (_, g) => ({
    id: uuidOf(`${address}/vm/${g}`),
    name: `sim-vm-${g + 1}`,
    nics: Array.from({ length: NICS_PER_GUEST }, (_, n) => ({
      // Xen's dom0 port of a VIF is vif<domid>.<device>; libvirt numbers its taps vnet<N>.
      device: hypervisor === "kvm" ? `vnet${g * NICS_PER_GUEST + n}` : `vif${g + 1}.${n}`,
      mac: macOf(`${address}/vm/${g}/nic/${n}`),
    })),
  })),
});

const hostError = (code: string, message: string) => new HostProgramError(code, message);

const bridgeOf = (s: SimHostState, networkId: string): SimBridge | undefined =>
  s.bridges.find((b) => b.externalIds[TAG_NETWORK] === networkId);

const requireBridge = (s: SimHostState, networkId: string): SimBridge => {
  const b = bridgeOf(s, networkId);
  if (b === undefined) {
    throw hostError("BRIDGE_NOT_FOUND", `no bridge for network ${networkId} on this host; set it up first`);
  }
  return b;
};

const findPort = (s: SimHostState, name: string): { bridge: SimBridge; port: SimPort } | undefined => {
  for (const bridge of s.bridges) {
    const port = bridge.ports.find((p) => p.name === name);
    if (port !== undefined) return { bridge, port };
  }
  return undefined;
};

/**
 * `--may-exist add-port`: the port, created on the bridge if absent. Like ovs-vsctl, a
 * port of that name on another bridge is an error, not a move.
 */
const addPort = (s: SimHostState, bridge: SimBridge, name: string, type: string): SimPort => {
  const found = findPort(s, name);
  if (found !== undefined && found.bridge !== bridge) {
    throw hostError(
      "OVS_COMMAND_FAILED",
      `ovs-vsctl: cannot create a port named ${name} because a port named ${name} already exists on bridge ${found.bridge.name}`,
    );
  }
  if (found !== undefined) return found.port;
  const port: SimPort = {
    name,
    protected: false,
    externalIds: {},
    iface: { type, options: {}, externalIds: {}, ofport: bridge.nextOfport++ },
  };
  bridge.ports.push(port);
  return port;
};

/** XAPI names a pool network's bridge xapi<N>; KVM hosts get the agent's derived name. */
const bridgeNameFor = (s: SimHostState, networkId: string): string => {
  if (s.hypervisor === "kvm") return kvmBridgeName(networkId);
  const taken = new Set(s.bridges.map((b) => b.name));
  let n = 0;
  while (taken.has(`xapi${n}`)) n++;
  return `xapi${n}`;
};

export const setupBridge = (s: SimHostState, req: RequestOf<typeof SetupBridge>): ResponseOf<typeof SetupBridge> => {
  const existing = bridgeOf(s, req.networkId);
  const bridge: SimBridge = existing ?? {
    name: bridgeNameFor(s, req.networkId),
    externalIds: {},
    ports: [],
    nextOfport: 1,
  };
  // Re-stating the tags repairs a bridge whose tags were lost, as `set Bridge` does.
  bridge.externalIds = {
    ...bridge.externalIds,
    [TAG_MANAGED]: "true",
    [TAG_NETWORK]: req.networkId,
    [TAG_ROLE]: "network",
  };
  if (existing === undefined) s.bridges.push(bridge);
  return { bridge: bridge.name, created: existing === undefined };
};

export const destroyBridge = (
  s: SimHostState,
  req: RequestOf<typeof DestroyBridge>,
): ResponseOf<typeof DestroyBridge> => {
  const bridge = bridgeOf(s, req.networkId);
  if (bridge === undefined) return { bridge: null, destroyed: false };
  s.bridges = s.bridges.filter((b) => b !== bridge);
  return { bridge: bridge.name, destroyed: true };
};

export const applyTunnels = (s: SimHostState, req: RequestOf<typeof ApplyTunnels>): ResponseOf<typeof ApplyTunnels> => {
  const { type, key } = tunnelOf(req);
  const desired = new Map<string, { ip: string; peer: string | undefined }>();
  for (const r of req.remotes) {
    const name = tunnelPortName(key, r.ip, type);
    if (desired.has(name)) throw hostError("INVALID_ARGUMENT", `remote ${r.ip} is listed twice`);
    desired.set(name, { ip: r.ip, peer: r.hostId });
  }
  const bridge = requireBridge(s, req.networkId);
  const existing = bridge.ports.filter((p) => p.externalIds[TAG_ROLE] === "tunnel").map((p) => p.name);
  const removed = existing.filter((n) => !desired.has(n)).sort();
  const added = [...desired.keys()].filter((n) => !existing.includes(n)).sort();
  bridge.ports = bridge.ports.filter((p) => !removed.includes(p.name));
  const names = [...desired.keys()].sort();
  for (const name of names) {
    const { ip, peer } = desired.get(name) as { ip: string; peer: string | undefined };
    // Re-stating every desired tunnel repairs drift, as the program's `set` commands do.
    const port = addPort(s, bridge, name, type);
    port.iface.type = type;
    port.iface.options = { ...port.iface.options, remote_ip: ip, key: String(key) };
    port.iface.externalIds = { ...port.iface.externalIds, [TAG_MANAGED]: "true", [TAG_NETWORK]: req.networkId };
    port.protected = true;
    port.externalIds = {
      ...port.externalIds,
      [TAG_MANAGED]: "true",
      [TAG_NETWORK]: req.networkId,
      [TAG_ROLE]: "tunnel",
      "sdn-remote-ip": ip,
      ...(peer === undefined ? {} : { "sdn-peer-host-id": peer }),
    };
  }
  return {
    bridge: bridge.name,
    added,
    removed,
    tunnels: names.map((port) => ({ port, remoteIp: (desired.get(port) as { ip: string }).ip })),
  };
};

const guestNic = (s: SimHostState, device: string): SimGuestNic | undefined =>
  s.guests.flatMap((g) => g.nics).find((n) => n.device === device);

/** sdn_guest.check_owner: the device must be one of the named VM's (by id or name). */
const requireOwner = (s: SimHostState, device: string, vmId: string | undefined): void => {
  const vm = s.guests.find((g) => g.id === vmId || g.name === vmId);
  if (vm === undefined || !vm.nics.some((n) => n.device === device)) {
    throw hostError(
      "DEVICE_NOT_OWNED",
      `device ${device} is not an interface of VM ${vmId ?? "(none named)"} on this host`,
    );
  }
};

export const plugVif = (s: SimHostState, req: RequestOf<typeof PlugVif>): ResponseOf<typeof PlugVif> => {
  // Only the guests' ports exist on a simulated host, as only real devices do on a real one.
  if (guestNic(s, req.device) === undefined) {
    throw hostError("DEVICE_NOT_FOUND", `network device ${req.device} does not exist on this host`);
  }
  requireOwner(s, req.device, req.vmId);
  const bridge = requireBridge(s, req.networkId);
  const port = addPort(s, bridge, req.device, "system");
  port.iface.externalIds = {
    ...port.iface.externalIds,
    "iface-id": req.nicId,
    "sdn-nic-id": req.nicId,
    ...(req.mac === undefined ? {} : { "attached-mac": req.mac.toLowerCase() }),
    ...(req.vmId === undefined ? {} : { "vm-id": req.vmId }),
  };
  port.externalIds = {
    ...port.externalIds,
    [TAG_MANAGED]: "true",
    [TAG_NETWORK]: req.networkId,
    [TAG_ROLE]: "vif",
    "sdn-nic-id": req.nicId,
  };
  return { bridge: bridge.name, port: port.name };
};

export const unplugVif = (s: SimHostState, req: RequestOf<typeof UnplugVif>): ResponseOf<typeof UnplugVif> => {
  const found = findPort(s, req.device);
  if (found === undefined) return { port: req.device, removed: false };
  if (found.port.externalIds[TAG_NETWORK] !== req.networkId) {
    throw hostError("NOT_MANAGED", `port ${req.device} is not a port of network ${req.networkId}`);
  }
  found.bridge.ports = found.bridge.ports.filter((p) => p !== found.port);
  return { port: req.device, removed: true };
};

type OvsState = ResponseOf<typeof GetOvsState>;
type OvsPort = OvsState["bridges"][number]["ports"][number];

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const reportPort = (p: SimPort): OvsPort => ({
  name: p.name,
  protected: p.protected,
  externalIds: { ...p.externalIds },
  interfaces: [
    {
      name: p.name,
      type: p.iface.type,
      options: { ...p.iface.options },
      ofport: p.iface.ofport,
      error: null,
      mac: null,
      externalIds: { ...p.iface.externalIds },
    },
  ],
});

/** Like ovs_state: every bridge (with its own internal port), or the network's only. */
export const ovsState = (s: SimHostState, req: RequestOf<typeof GetOvsState>): OvsState => ({
  bridges: s.bridges
    .filter((b) => req.networkId === undefined || b.externalIds[TAG_NETWORK] === req.networkId)
    .map((b) => {
      const local: OvsPort = {
        name: b.name,
        protected: false,
        externalIds: {},
        interfaces: [
          { name: b.name, type: "internal", options: {}, ofport: 65534, error: null, mac: null, externalIds: {} },
        ],
      };
      return {
        name: b.name,
        datapathType: "system",
        managed: b.externalIds[TAG_MANAGED] === "true",
        networkId: b.externalIds[TAG_NETWORK] ?? null,
        externalIds: { ...b.externalIds },
        ports: [local, ...b.ports.map(reportPort)].sort(byName),
      };
    })
    .sort(byName),
});

/** The guests, each NIC with the bridge its port is on (null when not plugged). */
export const listVms = (s: SimHostState): ResponseOf<typeof ListVms> => ({
  vms: s.guests.map((g) => ({
    id: g.id,
    name: g.name,
    powerState: "Running",
    nics: g.nics.map((n) => ({ device: n.device, mac: n.mac, bridge: findPort(s, n.device)?.bridge.name ?? null })),
  })),
});
