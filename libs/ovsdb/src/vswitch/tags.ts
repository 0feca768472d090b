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

/** A tunnel port's name: stable within Linux's 15 characters, unique per (key, remote). Same as sdn_ovs.py. */
export function tunnelPortName(key: number, remoteIp: string): string {
  return `gre-${createHash("sha1").update(`${key}/${remoteIp}`).digest("hex").slice(0, 11)}`;
}
