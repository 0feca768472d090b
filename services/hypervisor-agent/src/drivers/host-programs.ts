import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The host programs shipped with this service (services/hypervisor-agent/host). */
export const HOST_PROGRAMS_DIR = fileURLToPath(new URL("../../host/", import.meta.url));

/** Where XAPI runs plugins from (host.call_plugin), on every XenServer / XCP-ng release. */
export const XAPI_PLUGIN_DIR = "/etc/xapi.d/plugins";
/**
 * The shared library of both entry points: sdn_ovs.py (version, function table) and its
 * modules, one per concern. Deployed in this order, sdn_ovs.py last of them, so it never
 * runs beside a module it does not know yet.
 */
export const HOST_LIBRARY_FILES = [
  "sdn_guest.py",
  "sdn_ovs_cmd.py",
  "sdn_ovs_args.py",
  "sdn_ovs_bridges.py",
  "sdn_ipsec.py",
  "sdn_ovs_tunnels.py",
  "sdn_ovs_flows.py",
  "sdn_ovs_ports.py",
  "sdn_ovs_relay.py",
  "sdn_ovs.py",
] as const;

/** The XAPI plugin's name in XAPI_PLUGIN_DIR, and the libraries it needs beside it. */
export const XAPI_PLUGIN = "sdn-ovs";
export const XAPI_PLUGIN_FILES = [XAPI_PLUGIN, ...HOST_LIBRARY_FILES] as const;

/** The KVM script and its libraries, deployed over SFTP. */
export const KVM_SCRIPT = "sdn-ovs-kvm";
export const KVM_FILES = [KVM_SCRIPT, ...HOST_LIBRARY_FILES] as const;

/** The version the shipped programs declare (VERSION in sdn_ovs.py); hosts must run exactly it. */
export const HOST_PROGRAMS_VERSION: string = (() => {
  const source = readFileSync(new URL("sdn_ovs.py", `file://${HOST_PROGRAMS_DIR}`), "utf8");
  const m = /^VERSION = "([^"]+)"$/m.exec(source);
  if (m === null) throw new Error("sdn_ovs.py declares no VERSION");
  return m[1] as string;
})();

export const readProgram = (file: string): Buffer => readFileSync(new URL(file, `file://${HOST_PROGRAMS_DIR}`));

/** What every driver reports about a host once connected. */
export interface HostFacts {
  platform: { name: string; version: string; ovsVersion?: string };
  programsVersion: string;
  tunnelInterface: {
    label?: string;
    device: string;
    ip: string;
    netmask: string;
    prefixLength: number;
    mac?: string | null;
  };
  /** The SSH host key seen, if SSH was used (recorded when trusting on first contact). */
  hostKeyFingerprint?: string;
}
