import type { Host, Network } from "@sdn/contracts";
import type { Mesh } from "./mesh.js";
import type { MemberNic, Membership } from "./store.js";

/** Adds the NIC (and its host, when new) to the network's membership; a NIC already there stays as it is. */
export const joinMembership = (
  mesh: Mesh,
  network: Network,
  key: number,
  host: Host,
  nicId: string,
  entry: MemberNic,
): Promise<Membership | undefined> => {
  // GRE memberships stay as they were stored before VXLAN: no encapsulation field.
  const encapsulation = network.encapsulation === "vxlan" ? { encapsulation: network.encapsulation } : {};
  return mesh.change(network.id, (m) => {
    const base: Membership = m ?? {
      networkId: network.id,
      accountId: network.accountId,
      greKey: key,
      ...encapsulation,
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
export const setMemberState = (
  mesh: Mesh,
  networkId: string,
  hostId: string,
  nicId: string,
  state: MemberNic["state"],
): Promise<Membership | undefined> =>
  mesh.change(networkId, (m) => {
    const n = m?.hosts[hostId]?.nics[nicId];
    if (m === undefined || n === undefined || n.state === state) return undefined;
    const h = m.hosts[hostId] as Membership["hosts"][string];
    const next = { ...n, state, since: new Date().toISOString() };
    return { ...m, hosts: { ...m.hosts, [hostId]: { ...h, nics: { ...h.nics, [nicId]: next } } } };
  });
