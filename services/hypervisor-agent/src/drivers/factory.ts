import type { Host } from "@sdn/contracts";
import type { AgentConfig } from "../config.js";
import type { Credentials } from "../registry/host-store.js";
import type { HostDriver } from "./driver.js";
import { KvmDriver } from "./kvm/kvm-driver.js";
import { XapiDriver } from "./xapi/xapi-driver.js";

export interface DriverTarget {
  host: Pick<Host, "hypervisor" | "address" | "port" | "username" | "hostKeyFingerprint" | "tunnelNetworkLabel">;
  credentials: Credentials;
  tlsCertificate?: string;
  tlsInsecure?: boolean;
  /** KVM, first contact only: record the host key instead of checking it. */
  trustOnFirstContact?: boolean;
  /** KVM: deploy the programs even if the host runs this version. */
  forceDeploy?: boolean;
}

type DriverConfig = Pick<
  AgentConfig,
  "SDN_HOST_CONNECT_TIMEOUT_MS" | "SDN_HOST_COMMAND_TIMEOUT_MS" | "SDN_KVM_PROGRAM_DIR" | "SDN_SSH_MAX_SESSIONS"
>;

/** The driver for a host's hypervisor. */
export const createDriver = (t: DriverTarget, config: DriverConfig, originator: string): HostDriver => {
  const h = t.host;
  const label = h.tunnelNetworkLabel === undefined ? {} : { tunnelNetworkLabel: h.tunnelNetworkLabel };
  if (h.hypervisor === "kvm") {
    return new KvmDriver({
      ssh: {
        host: h.address,
        port: h.port,
        username: h.username,
        privateKey: t.credentials.privateKey ?? "",
        ...(t.credentials.passphrase === undefined ? {} : { passphrase: t.credentials.passphrase }),
        ...(h.hostKeyFingerprint === undefined ? {} : { hostKeyFingerprint: h.hostKeyFingerprint }),
        trustOnFirstContact: t.trustOnFirstContact === true && h.hostKeyFingerprint === undefined,
        connectTimeoutMs: config.SDN_HOST_CONNECT_TIMEOUT_MS,
        maxSessions: config.SDN_SSH_MAX_SESSIONS,
      },
      programDir: config.SDN_KVM_PROGRAM_DIR,
      commandTimeoutMs: config.SDN_HOST_COMMAND_TIMEOUT_MS,
      forceDeploy: t.forceDeploy === true,
      ...label,
    });
  }
  return new XapiDriver({
    address: h.address,
    port: h.port,
    username: h.username,
    password: t.credentials.password ?? "",
    tls: {
      ...(t.tlsCertificate === undefined ? {} : { certificate: t.tlsCertificate }),
      ...(t.tlsInsecure === true ? { insecure: true } : {}),
    },
    // A login must wait out XAPI's delay after a bad password (5 s) and then some.
    timeoutMs: Math.max(config.SDN_HOST_COMMAND_TIMEOUT_MS, 1_000),
    originator,
    ...label,
  });
};
