import type {
  ApplyTunnels,
  DestroyBridge,
  GetOvsState,
  Hypervisor,
  ListVms,
  PlugVif,
  RelayToRouter,
  RequestOf,
  ResponseOf,
  SetupBridge,
  TunnelInterface,
  UnplugVif,
} from "@sdn/contracts";
import type { TunnelBfdReading } from "@sdn/ovsdb";
import { isIPv4 } from "node:net";
import type { HostDriver } from "../driver.js";
import type { FlowRestore } from "../program-answers.js";
import { HostFailure, HostProgramError } from "../errors.js";
import { HOST_PROGRAMS_VERSION, type HostFacts } from "../host-programs.js";
import { HostStateFile } from "./host-state-file.js";
import * as host from "./simulated-host.js";

export interface SimulatedDriverOptions {
  address: string;
  hypervisor: Hypervisor;
  tunnelNetworkLabel?: string;
  /** Where the simulated hosts' state files are kept. */
  stateDir: string;
}

const PLATFORM_NAMES: Record<Hypervisor, string> = {
  xenserver: "Simulated XenServer",
  "xcp-ng": "Simulated XCP-ng",
  kvm: "Simulated KVM",
};
/** The simulated tunnel interface: the one device of a simulated host with an address. */
const SIM_DEVICE = "sim0";

/**
 * A host that exists only in the agent (CloudStack's Simulator hypervisor): no connection,
 * no credentials used, the host programs' semantics run over a state file. It is there
 * for integration tests and demos of the control plane without hypervisors; its facts say
 * "Simulated" so it is never mistaken for a real host.
 */
export class SimulatedDriver implements HostDriver {
  private readonly file: HostStateFile;

  constructor(private readonly opts: SimulatedDriverOptions) {
    this.file = new HostStateFile(opts.stateDir, opts.address, opts.hypervisor);
  }

  async identify(): Promise<HostFacts> {
    const tunnelInterface = await this.fetchInterface(this.opts.tunnelNetworkLabel).catch((err: unknown) => {
      if (err instanceof HostProgramError) throw new HostFailure("TUNNEL_INTERFACE_NOT_FOUND", err.message);
      throw err;
    });
    // First contact creates the host (its guests) on disk.
    await this.file.use(() => undefined);
    return {
      platform: { name: PLATFORM_NAMES[this.opts.hypervisor], version: "simulator", ovsVersion: "simulated" },
      programsVersion: HOST_PROGRAMS_VERSION,
      tunnelInterface,
    };
  }

  async ping(): Promise<string> {
    await this.file.use(() => undefined);
    return HOST_PROGRAMS_VERSION;
  }

  /** A simulated host has no OpenFlow flows to lose. */
  async restoreFlows(): Promise<FlowRestore> {
    return { checked: 0, restored: [] };
  }

  /** The tunnel endpoint is the host's address itself, on whatever label was asked for. */
  /** A simulated host runs no BFD: its tunnels' health stays unknown. */
  async tunnelHealth(): Promise<TunnelBfdReading[]> {
    return [];
  }

  async fetchInterface(label?: string): Promise<TunnelInterface> {
    if (!isIPv4(this.opts.address)) {
      throw new HostProgramError(
        "INTERFACE_NOT_FOUND",
        `a simulated host's address is its tunnel endpoint and must be an IPv4 address, not ${this.opts.address}`,
      );
    }
    return {
      ...(label === undefined ? {} : { label }),
      device: SIM_DEVICE,
      ip: this.opts.address,
      netmask: "255.255.255.255",
      prefixLength: 32,
      mac: null,
    };
  }

  setupBridge(req: RequestOf<typeof SetupBridge>): Promise<ResponseOf<typeof SetupBridge>> {
    return this.file.use((s) => host.setupBridge(s, req));
  }

  destroyBridge(req: RequestOf<typeof DestroyBridge>): Promise<ResponseOf<typeof DestroyBridge>> {
    return this.file.use((s) => host.destroyBridge(s, req));
  }

  applyTunnels(req: RequestOf<typeof ApplyTunnels>): Promise<ResponseOf<typeof ApplyTunnels>> {
    return this.file.use((s) => host.applyTunnels(s, req));
  }

  plugVif(req: RequestOf<typeof PlugVif>): Promise<ResponseOf<typeof PlugVif>> {
    return this.file.use((s) => host.plugVif(s, req));
  }

  unplugVif(req: RequestOf<typeof UnplugVif>): Promise<ResponseOf<typeof UnplugVif>> {
    return this.file.use((s) => host.unplugVif(s, req));
  }

  ovsState(req: RequestOf<typeof GetOvsState>): Promise<ResponseOf<typeof GetOvsState>> {
    return this.file.use((s) => host.ovsState(s, req));
  }

  listVms(): Promise<ResponseOf<typeof ListVms>> {
    return this.file.use((s) => host.listVms(s));
  }

  async relayToRouter(): Promise<ResponseOf<typeof RelayToRouter>> {
    throw new HostProgramError(
      "SIMULATED_HOST_HAS_NO_ROUTERS",
      `${this.opts.address} is a simulated host: it runs no virtual routers to relay commands to`,
    );
  }

  async close(): Promise<void> {
    // Nothing to close: a simulated host holds no connection.
  }
}
