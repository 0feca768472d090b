import { createHash } from "node:crypto";

/**
 * The external_ids tags of what the controller owns, exactly as the host programs write
 * them (services/hypervisor-agent/host/sdn_ovs.py): both paths must find each other's rows.
 */
export const TAG_MANAGED = "sdn-managed";
export const TAG_NETWORK = "sdn-network-id";
export const TAG_ROLE = "sdn-role";
export const TAG_REMOTE_IP = "sdn-remote-ip";
export const TAG_PEER_HOST = "sdn-peer-host-id";
export type OwnedRole = "network" | "tunnel" | "vif";

/** The tables and columns the helpers read; a monitor on these keeps a snapshot current. */
export const VSWITCH_MONITOR = {
  Open_vSwitch: ["bridges"],
  Bridge: ["name", "datapath_type", "external_ids", "ports"],
  Port: ["name", "protected", "external_ids", "interfaces"],
  Interface: ["name", "type", "options", "ofport", "error", "mac_in_use", "external_ids"],
};

/** The OVS Interface types of our tunnels: a network's encapsulation. */
export type TunnelType = "gre" | "vxlan";
/** What a network's tunnels carry: their type and key (the GRE key, or the VXLAN VNI). */
export interface TunnelSpec {
  type: TunnelType;
  key: number;
  /**
   * An encrypted network's IPsec pre-shared key (opened by the agent): every tunnel gets
   * options:psk, which ovs-monitor-ipsec turns into strongSwan SAs. Never logged or answered.
   */
  psk?: string;
}
/** The largest key of each type: GRE keys are 32 bits, VNIs 24. */
export const TUNNEL_KEY_MAX: Readonly<Record<TunnelType, number>> = { gre: 2 ** 32 - 1, vxlan: 2 ** 24 - 1 };

/**
 * A tunnel port's name: stable within Linux's 15 characters, unique per (type, key, remote),
 * so a GRE and a VXLAN network's tunnels to one host never share a name (different prefix
 * and hash input). GRE names are what they were before VXLAN. Same as sdn_ovs.py.
 */
export function tunnelPortName(key: number, remoteIp: string, type: TunnelType = "gre"): string {
  const [prefix, input] = type === "gre" ? ["gre-", `${key}/${remoteIp}`] : ["vxl-", `vxlan/${key}/${remoteIp}`];
  return `${prefix}${createHash("sha1").update(input).digest("hex").slice(0, 11)}`;
}
