import type { Host, Network } from "@sdn/contracts";
import type { Collaborators } from "./collaborators.js";
import type { Mesh } from "./mesh.js";
import type { MemberNic, Membership } from "./store.js";

/**
 * Adds the NIC (and its host, when new) to the network's membership; a NIC already there
 * stays as it is. An encrypted network's first membership carries its tunnel key.
 */
export const joinMembership = async (
  d: { mesh: Mesh; peers: Collaborators },
  network: Network,
  key: number,
  host: Host,
  nicId: string,
  entry: MemberNic,
): Promise<void> => {
  // GRE memberships stay as they were stored before VXLAN: no encapsulation field.
  const encapsulation = network.encapsulation === "vxlan" ? { encapsulation: network.encapsulation } : {};
  // Read before the change: the membership is written by compare-and-swap, with no call inside.
  const ipsec = network.encryption === "ipsec" ? { ipsecPsk: await d.peers.tunnelSecret(network.id) } : {};
  await d.mesh.change(network.id, (m) => {
    const base: Membership = m ?? {
      networkId: network.id,
      accountId: network.accountId,
      greKey: key,
      ...encapsulation,
      ...ipsec,
      hosts: {},
    };
    const h = base.hosts[host.id];
    if (h?.nics[nicId] !== undefined && h.ip === host.tunnelInterface.ip && base.greKey === key) return undefined;
    return {
      ...base,
      greKey: key,
      hosts: {
        ...base.hosts,
        [host.id]: { ip: host.tunnelInterface.ip, nics: { ...h?.nics, [nicId]: h?.nics[nicId] ?? entry } },
      },
    };
  });
};

/** Sets the member NIC's state (Plugging, Plugged, Unplugging); nothing when it is gone or already so. */
export const setMemberState = async (
  mesh: Mesh,
  networkId: string,
  hostId: string,
  nicId: string,
  state: MemberNic["state"],
): Promise<void> => {
  await mesh.change(networkId, (m) => {
    const n = m?.hosts[hostId]?.nics[nicId];
    if (m === undefined || n === undefined || n.state === state) return undefined;
    const h = m.hosts[hostId] as Membership["hosts"][string];
    const next = { ...n, state, since: new Date().toISOString() };
    return { ...m, hosts: { ...m.hosts, [hostId]: { ...h, nics: { ...h.nics, [nicId]: next } } } };
  });
};

/**
 * Takes the NIC out of the membership (the host too, when it was its last NIC there).
 * True when the host is no longer a member: the serialization point decides it.
 */
export const leaveMembership = async (mesh: Mesh, networkId: string, hostId: string, nicId: string) => {
  let lastOnHost = false;
  await mesh.change(networkId, (m) => {
    const h = m?.hosts[hostId];
    if (m === undefined || h === undefined) {
      lastOnHost = m !== undefined;
      return undefined;
    }
    const { [nicId]: _gone, ...rest } = h.nics;
    const hosts = { ...m.hosts };
    if (Object.keys(rest).length === 0) delete hosts[hostId];
    else hosts[hostId] = { ...h, nics: rest };
    lastOnHost = hosts[hostId] === undefined;
    return { ...m, hosts };
  });
  return lastOnHost;
};
