import type { SouthboundStatus } from "./ovsdb/southbound.js";
import type { RequestOf, ResponseOf } from "@sdn/contracts";
import type {
  ApplyTunnels,
  DestroyBridge,
  GetOvsState,
  ListVms,
  PlugVif,
  RelayToRouter,
  SetupBridge,
  TunnelInterface,
  UnplugVif,
} from "@sdn/contracts";
import { BFD_DEFAULTS, type BfdTimers, type TunnelBfdReading } from "@sdn/ovsdb";
import { HostFailure, HostProgramError } from "./errors.js";
import type { HostFacts } from "./host-programs.js";
import type { FlowRestore } from "./program-answers.js";
import { tunnelOf } from "./tunnel-spec.js";

/**
 * What the agent does to one host, whatever its hypervisor. A driver holds one connection
 * (a XAPI session, an SSH connection) and reuses it; every method is idempotent.
 */
export interface HostDriver {
  /** Connects if needed, checks the host programs' version and reports the host. */
  identify(): Promise<HostFacts>;
  /** Cheap liveness check through the host programs; returns their version. */
  ping(): Promise<string>;
  setupBridge(req: RequestOf<typeof SetupBridge>): Promise<ResponseOf<typeof SetupBridge>>;
  destroyBridge(req: RequestOf<typeof DestroyBridge>): Promise<ResponseOf<typeof DestroyBridge>>;
  /** `psk`: an encrypted network's pre-shared key, opened by the agent from req.ipsecPsk. */
  applyTunnels(req: RequestOf<typeof ApplyTunnels>, psk?: string): Promise<ResponseOf<typeof ApplyTunnels>>;
  fetchInterface(label?: string): Promise<TunnelInterface>;
  plugVif(req: RequestOf<typeof PlugVif>): Promise<ResponseOf<typeof PlugVif>>;
  unplugVif(req: RequestOf<typeof UnplugVif>): Promise<ResponseOf<typeof UnplugVif>>;
  ovsState(req: RequestOf<typeof GetOvsState>): Promise<ResponseOf<typeof GetOvsState>>;
  /**
   * Re-installs the port-security flows of each managed bridge whose flows differ from
   * what its ports' tags ask for (ovs-vswitchd forgets flows when it restarts); answers
   * which bridges needed it.
   */
  restoreFlows(): Promise<FlowRestore>;
  /** Every managed tunnel's BFD status as OVS reports it (read every second or so: keep it cheap). */
  tunnelHealth(): Promise<TunnelBfdReading[]>;
  listVms(): Promise<ResponseOf<typeof ListVms>>;
  /** Runs a command on a router reachable from the host only (the vr-manager's relay). */
  relayToRouter(req: RequestOf<typeof RelayToRouter>): Promise<ResponseOf<typeof RelayToRouter>>;
  /** Ends the session/connection (XAPI: session.logout). */
  close(): Promise<void>;
  /** Whether the host's Open vSwitch is driven over OVSDB, and why not (drivers that have OVSDB). */
  southboundStatus?(): SouthboundStatus;
}

/**
 * The operations both drivers run through the shared host programs; a driver provides
 * `run` (XAPI: host.call_plugin; KVM: the script over SSH) and what differs.
 */
export abstract class ProgramDriver {
  protected abstract run<T>(fn: string, args: object): Promise<T>;
  /** Connects, makes the host run this agent's programs and reports the host. */
  protected abstract discover(): Promise<HostFacts>;
  /** The BFD timers every tunnel gets (SDN_BFD_*). */
  protected bfd: BfdTimers = BFD_DEFAULTS;
  private facts: Promise<HostFacts> | undefined;

  /** One discovery shared by concurrent callers and kept; a failed one is tried again next time. */
  identify(): Promise<HostFacts> {
    this.facts ??= this.discover().catch((err: unknown) => {
      this.facts = undefined;
      throw err;
    });
    return this.facts;
  }

  /** Discovers the host again on the next identify (the connection closed). */
  protected forgetFacts(): void {
    this.facts = undefined;
  }

  /** The host programs' host_info; a host without Open vSwitch is refused as such. */
  protected hostInfo<T extends { ovsVersion: string }>(): Promise<T> {
    return this.run<T>("host_info", {}).catch((err: unknown) => {
      if (err instanceof HostProgramError && err.hostError === "NOT_AN_OVS_HOST") {
        throw new HostFailure("NOT_AN_OVS_HOST", err.message);
      }
      throw err;
    });
  }

  ping(): Promise<string> {
    return this.run<{ version: string }>("version", {}).then((r) => r.version);
  }

  applyTunnels(req: RequestOf<typeof ApplyTunnels>, psk?: string): Promise<ResponseOf<typeof ApplyTunnels>> {
    const { type, key } = tunnelOf(req);
    // The key goes on the program's standard input (never its command line); the program
    // refuses with IPSEC_* before writing when the host cannot encrypt.
    return this.run("apply_tunnels", {
      networkId: req.networkId,
      type,
      key,
      remotes: req.remotes,
      bfd: this.bfd,
      ...(psk === undefined ? {} : { psk }),
    });
  }

  tunnelHealth(): Promise<TunnelBfdReading[]> {
    return this.run<{ tunnels: TunnelBfdReading[] }>("tunnel_health", {}).then((r) => r.tunnels);
  }

  plugVif(req: RequestOf<typeof PlugVif>): Promise<ResponseOf<typeof PlugVif>> {
    return this.run("plug_vif", req);
  }

  restoreFlows(): Promise<FlowRestore> {
    return this.run("restore_flows", {});
  }

  unplugVif(req: RequestOf<typeof UnplugVif>): Promise<ResponseOf<typeof UnplugVif>> {
    return this.run("unplug_vif", req);
  }

  ovsState(req: RequestOf<typeof GetOvsState>): Promise<ResponseOf<typeof GetOvsState>> {
    return this.run("ovs_state", req);
  }

  relayToRouter(req: RequestOf<typeof RelayToRouter>): Promise<ResponseOf<typeof RelayToRouter>> {
    return this.run("router_relay", req);
  }
}
