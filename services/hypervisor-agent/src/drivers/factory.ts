import type { Host } from "@sdn/contracts";
import { BFD_DEFAULTS } from "@sdn/ovsdb";
import { join } from "node:path";
import type { AgentConfig } from "../config.js";
import type { Credentials } from "../registry/host-store.js";
import type { HostDriver } from "./driver.js";
import type { DriftListener } from "./ovsdb/drift-watch.js";
import { KvmDriver } from "./kvm/kvm-driver.js";
import type { SouthboundLog } from "./ovsdb/host-ovsdb.js";
import { SimulatedDriver } from "./simulator/simulated-driver.js";
import type { SshOptions } from "./ssh/ssh-connection.js";
import { loadControllerPki } from "./xapi/controller-pki.js";
import { XapiDriver } from "./xapi/xapi-driver.js";

export interface DriverTarget {
  host: Pick<Host, "hypervisor" | "address" | "port" | "username" | "hostKeyFingerprint" | "tunnelNetworkLabel">;
  credentials: Credentials;
  tlsCertificate?: string;
  tlsInsecure?: boolean;
  /** First contact only: record the SSH host key instead of checking it. */
  trustOnFirstContact?: boolean;
  /** KVM: deploy the programs even if the host runs this version (XAPI: only when needed). */
  forceDeploy?: boolean;
}

/** The simulated hosts' state files, under SDN_DATA_DIR. */
export const SIMULATOR_DIR = "simulator";

type DriverConfig = Pick<
  AgentConfig,
  | "SDN_HOST_CONNECT_TIMEOUT_MS"
  | "SDN_HOST_COMMAND_TIMEOUT_MS"
  | "SDN_KVM_PROGRAM_DIR"
  | "SDN_SSH_MAX_SESSIONS"
  | "SDN_KVM_OVSDB"
  | "SDN_AGENT_SIMULATOR"
  | "SDN_DATA_DIR"
> &
  Partial<
    Pick<
      AgentConfig,
      "SDN_BFD_MIN_RX_MS" | "SDN_BFD_MIN_TX_MS" | "SDN_BFD_MULT" | "SDN_XAPI_OVSDB" | "SDN_XAPI_TAKE_OVER_CONTROLLER"
    >
  >;

/** The driver for a host's hypervisor; with SDN_AGENT_SIMULATOR, the simulator for every host. */
export const createDriver = (
  t: DriverTarget,
  config: DriverConfig,
  originator: string,
  log?: SouthboundLog,
  onDrift?: DriftListener,
): HostDriver => {
  const h = t.host;
  const label = h.tunnelNetworkLabel === undefined ? {} : { tunnelNetworkLabel: h.tunnelNetworkLabel };
  if (config.SDN_AGENT_SIMULATOR) {
    return new SimulatedDriver({
      address: h.address,
      hypervisor: h.hypervisor,
      stateDir: join(config.SDN_DATA_DIR, SIMULATOR_DIR),
      ...label,
    });
  }
  const c = t.credentials;
  const bfd = {
    minRxMs: config.SDN_BFD_MIN_RX_MS ?? BFD_DEFAULTS.minRxMs,
    minTxMs: config.SDN_BFD_MIN_TX_MS ?? BFD_DEFAULTS.minTxMs,
    mult: config.SDN_BFD_MULT ?? BFD_DEFAULTS.mult,
  };
  const ssh = (port: number): SshOptions => ({
    host: h.address,
    port,
    username: h.username,
    // A key when one was given; else (XAPI hosts) the password, dom0's root login as well.
    ...(c.privateKey === undefined
      ? { password: c.password ?? "" }
      : { privateKey: c.privateKey, ...(c.passphrase === undefined ? {} : { passphrase: c.passphrase }) }),
    ...(h.hostKeyFingerprint === undefined ? {} : { hostKeyFingerprint: h.hostKeyFingerprint }),
    trustOnFirstContact: t.trustOnFirstContact === true && h.hostKeyFingerprint === undefined,
    connectTimeoutMs: config.SDN_HOST_CONNECT_TIMEOUT_MS,
    maxSessions: config.SDN_SSH_MAX_SESSIONS,
  });
  if (h.hypervisor === "kvm") {
    return new KvmDriver({
      ssh: ssh(h.port),
      programDir: config.SDN_KVM_PROGRAM_DIR,
      commandTimeoutMs: config.SDN_HOST_COMMAND_TIMEOUT_MS,
      forceDeploy: t.forceDeploy === true,
      ovsdb: config.SDN_KVM_OVSDB,
      bfd,
      ...(log === undefined ? {} : { log }),
      ...(onDrift === undefined ? {} : { onDrift }),
      ...label,
    });
  }
  return new XapiDriver({
    address: h.address,
    port: h.port,
    username: h.username,
    password: c.password ?? "",
    tls: {
      ...(t.tlsCertificate === undefined ? {} : { certificate: t.tlsCertificate }),
      ...(t.tlsInsecure === true ? { insecure: true } : {}),
    },
    // A login must wait out XAPI's delay after a bad password (5 s) and then some.
    timeoutMs: Math.max(config.SDN_HOST_COMMAND_TIMEOUT_MS, 1_000),
    originator,
    bfd,
    ...(config.SDN_XAPI_OVSDB === false
      ? {}
      : {
          ovsdb: {
            pki: () => loadControllerPki(config.SDN_DATA_DIR),
            takeOver: config.SDN_XAPI_TAKE_OVER_CONTROLLER === true,
          },
        }),
    ...(log === undefined ? {} : { log }),
    ...(onDrift === undefined ? {} : { onDrift }),
    // SSH (the control domain's sshd on port 22) only where its host key is pinned or may be recorded.
    ...(h.hostKeyFingerprint !== undefined || t.trustOnFirstContact === true ? { ssh: ssh(22) } : {}),
    ...label,
  });
};
