import type { RequestOf, ResponseOf } from "@sdn/contracts";
import type {
  ApplyTunnels,
  DestroyBridge,
  GetOvsState,
  ListVms,
  PlugVif,
  SetupBridge,
  TunnelInterface,
  UnplugVif,
} from "@sdn/contracts";
import type { HostFacts } from "./host-programs.js";

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
  applyTunnels(req: RequestOf<typeof ApplyTunnels>): Promise<ResponseOf<typeof ApplyTunnels>>;
  fetchInterface(label?: string): Promise<TunnelInterface>;
  plugVif(req: RequestOf<typeof PlugVif>): Promise<ResponseOf<typeof PlugVif>>;
  unplugVif(req: RequestOf<typeof UnplugVif>): Promise<ResponseOf<typeof UnplugVif>>;
  ovsState(req: RequestOf<typeof GetOvsState>): Promise<ResponseOf<typeof GetOvsState>>;
  listVms(): Promise<ResponseOf<typeof ListVms>>;
  /** Ends the session/connection (XAPI: session.logout). */
  close(): Promise<void>;
}

/**
 * The operations both drivers run through the shared host programs; a driver provides
 * `run` (XAPI: host.call_plugin; KVM: the script over SSH) and what differs.
 */
export abstract class ProgramDriver {
  protected abstract run<T>(fn: string, args: object): Promise<T>;

  ping(): Promise<string> {
    return this.run<{ version: string }>("version", {}).then((r) => r.version);
  }

  applyTunnels(req: RequestOf<typeof ApplyTunnels>): Promise<ResponseOf<typeof ApplyTunnels>> {
    return this.run("apply_tunnels", { networkId: req.networkId, key: req.greKey, remotes: req.remotes });
  }

  plugVif(req: RequestOf<typeof PlugVif>): Promise<ResponseOf<typeof PlugVif>> {
    return this.run("plug_vif", req);
  }

  unplugVif(req: RequestOf<typeof UnplugVif>): Promise<ResponseOf<typeof UnplugVif>> {
    return this.run("unplug_vif", req);
  }

  ovsState(req: RequestOf<typeof GetOvsState>): Promise<ResponseOf<typeof GetOvsState>> {
    return this.run("ovs_state", req);
  }
}
