import type { NatsConnection } from "@nats-io/transport-node";
import { bindHandler, serveRequests, type BusLogger, type RequestServer } from "@sdn/bus";
import {
  agentPrefix,
  ApplyTunnels,
  DestroyBridge,
  FetchInterface,
  GetHost,
  GetOvsState,
  ListVms,
  Ping,
  PlugVif,
  SetupBridge,
  UnplugVif,
  type Host,
} from "@sdn/contracts";
import type { ServiceSpec } from "@sdn/runtime";
import { BaseConfig } from "@sdn/runtime";
import { CommandError } from "@sdn/contracts";

/*
 * CONTROL-PLANE-ONLY SIMULATION, for the convergence benchmark and nothing else: hosts that
 * exist only in memory. It answers the agent contract on sdn.agent.<hostId>.* (and GetHost
 * for the element) at once, with no OVS, no packets and no host work, so a benchmark run
 * measures the controller alone. The tests that prove traffic use the emulated lab.
 */

interface SimBridge {
  name: string;
  tunnels: Map<string, string>;
  ports: Set<string>;
}

export class SimulatedHost {
  readonly bridges = new Map<string, SimBridge>();
  readonly calls = new Map<string, number>();

  constructor(
    readonly id: string,
    readonly ip: string,
  ) {}

  count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }

  /** Sets the network's bridge up when missing (SetupBridge, or ensureBridge); true when it created it. */
  ensureBridge(networkId: string): boolean {
    if (this.bridges.has(networkId)) return false;
    this.bridges.set(networkId, { name: `sdn${networkId.slice(0, 8)}`, tunnels: new Map(), ports: new Set() });
    return true;
  }

  bridge(networkId: string): SimBridge {
    const b = this.bridges.get(networkId);
    if (b === undefined) throw new CommandError("NOT_FOUND", `no bridge for network ${networkId}`);
    return b;
  }
}

const silent: BusLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export class SimulatedAgents {
  readonly hosts: SimulatedHost[];
  private readonly servers: RequestServer[] = [];

  constructor(
    private readonly nc: NatsConnection,
    count: number,
  ) {
    this.hosts = Array.from(
      { length: count },
      (_, i) =>
        new SimulatedHost(`sim-${String(i).padStart(4, "0")}`, `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`),
    );
    for (const h of this.hosts) {
      this.servers.push(serveRequests(nc, { prefix: agentPrefix(h.id), handlers: this.handlers(h), logger: silent }));
    }
  }

  roundTrips(): number {
    return this.hosts.reduce((n, h) => n + [...h.calls.values()].reduce((a, b) => a + b, 0), 0);
  }

  hostRecord(h: SimulatedHost): Host {
    const now = new Date().toISOString();
    return {
      id: h.id,
      name: h.id,
      hypervisor: "kvm",
      address: h.ip,
      port: 22,
      username: "root",
      state: "Up",
      platform: { name: "simulated", version: "0" },
      tunnelInterface: { device: "eth0", ip: h.ip, netmask: "255.0.0.0", prefixLength: 8 },
      programsVersion: "simulated",
      createdAt: now,
      stateChangedAt: now,
    };
  }

  /** A stand-in hypervisor-agent service answering GetHost for the simulated hosts. */
  registrySpec(): ServiceSpec<typeof BaseConfig.properties> {
    const byId = new Map(this.hosts.map((h) => [h.id, h]));
    return {
      name: "hypervisor-agent",
      version: "0.0.0-simulated",
      description: "simulated host registry (benchmark only)",
      config: BaseConfig,
      setup: () => ({
        handlers: [
          bindHandler(GetHost, async (req) => {
            const h = byId.get(req.id);
            if (h === undefined) throw new CommandError("NOT_FOUND", `host ${req.id} not found`);
            return { data: this.hostRecord(h), details: "simulated" };
          }),
        ],
      }),
    };
  }

  private handlers(h: SimulatedHost) {
    const counted =
      <T>(name: string, fn: () => T) =>
      async () => {
        h.count(name);
        return { data: fn(), details: "simulated" };
      };
    return [
      bindHandler(Ping, async () => {
        h.count("Ping");
        return {
          data: {
            hostId: h.id,
            agentInstanceId: "sim",
            platform: { name: "sim", version: "0" },
            programsVersion: "sim",
            roundTripMs: 0,
          },
          details: "simulated",
        };
      }),
      bindHandler(SetupBridge, async (req) => {
        h.count("SetupBridge");
        const created = h.ensureBridge(req.networkId);
        return { data: { bridge: h.bridge(req.networkId).name, created }, details: "simulated" };
      }),
      bindHandler(DestroyBridge, async (req) => {
        h.count("DestroyBridge");
        const b = h.bridges.get(req.networkId);
        h.bridges.delete(req.networkId);
        return { data: { bridge: b?.name ?? null, destroyed: b !== undefined }, details: "simulated" };
      }),
      bindHandler(ApplyTunnels, async (req) => {
        h.count("ApplyTunnels");
        const bridgeCreated = req.ensureBridge === true ? { bridgeCreated: h.ensureBridge(req.networkId) } : {};
        const b = h.bridge(req.networkId);
        const wanted = new Map(
          req.remotes.map((r) => [r.ip, `gre-${(req.greKey ?? 0) % 1000}-${r.ip.replace(/\./g, "")}`.slice(0, 15)]),
        );
        const removed = [...b.tunnels.keys()].filter((ip) => !wanted.has(ip)).map((ip) => b.tunnels.get(ip) as string);
        const added = [...wanted.keys()].filter((ip) => !b.tunnels.has(ip)).map((ip) => wanted.get(ip) as string);
        b.tunnels = wanted;
        return {
          data: {
            bridge: b.name,
            added,
            removed,
            tunnels: [...wanted].map(([remoteIp, port]) => ({ port, remoteIp })),
            ...bridgeCreated,
          },
          details: "simulated",
        };
      }),
      bindHandler(PlugVif, async (req) => {
        h.count("PlugVif");
        const bridgeCreated = req.ensureBridge === true ? { bridgeCreated: h.ensureBridge(req.networkId) } : {};
        const b = h.bridge(req.networkId);
        b.ports.add(req.device);
        return { data: { bridge: b.name, port: req.device, ...bridgeCreated }, details: "simulated" };
      }),
      bindHandler(UnplugVif, async (req) => {
        h.count("UnplugVif");
        const removed = h.bridges.get(req.networkId)?.ports.delete(req.device) ?? false;
        return { data: { port: req.device, removed }, details: "simulated" };
      }),
      bindHandler(
        GetOvsState,
        counted("GetOvsState", () => ({ bridges: [] })),
      ),
      bindHandler(
        ListVms,
        counted("ListVms", () => ({ vms: [] })),
      ),
      bindHandler(
        FetchInterface,
        counted("FetchInterface", () => ({ device: "eth0", ip: h.ip, netmask: "255.0.0.0", prefixLength: 8 })),
      ),
    ];
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.drain()));
  }
}
