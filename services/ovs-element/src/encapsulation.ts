import type { ApplyTunnels, Encapsulation, Network, RequestOf } from "@sdn/contracts";
import type { Membership } from "./store.js";

/** The membership's encapsulation: memberships stored before VXLAN carry none and are GRE. */
export const encapsulationOf = (m: Membership): Encapsulation => m.encapsulation ?? "gre";

/** The key an implemented network's tunnels carry: its GRE key, or its VNI on VXLAN. */
export const tunnelKeyOf = (n: Pick<Network, "encapsulation" | "greKey" | "vni">): number | undefined =>
  n.encapsulation === "vxlan" ? n.vni : n.greKey;

/** The ApplyTunnels request of one host: GRE keeps the request it always had, VXLAN names itself. */
export const applyTunnelsRequest = (
  m: Membership,
  remotes: RequestOf<typeof ApplyTunnels>["remotes"],
): RequestOf<typeof ApplyTunnels> => {
  // An encrypted network's sealed key travels with every set: a host never gets its tunnels without it.
  const psk = m.ipsecPsk === undefined ? {} : { ipsecPsk: m.ipsecPsk };
  return encapsulationOf(m) === "vxlan"
    ? { networkId: m.networkId, encapsulation: "vxlan", vni: m.greKey, remotes, ...psk }
    : { networkId: m.networkId, greKey: m.greKey, remotes, ...psk };
};
