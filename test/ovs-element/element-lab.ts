import type { NatsConnection } from "@nats-io/transport-node";
import { bearer, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { CommandClient } from "@sdn/bus";
import { CheckHealth, type CommandServiceName, type Host, type NewHost, type Nic } from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec, type Element } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { waitFor } from "@sdn/testkit";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  exec,
  KVM_PROGRAM_DIR,
  Lab,
  type LabHost,
  type LabVm,
  type KvmLabHost,
  type XapiLabHost,
} from "../lab/index.js";

export type AnyLabHost = KvmLabHost | XapiLabHost;

/**
 * The whole control plane on one real nats-server — gateway (called with inject),
 * network-guru, hypervisor-agent and ovs-element, each started in-process — driving lab
 * hosts registered through the HTTP API.
 */
export class ElementLab {
  readonly hostIds = new Map<string, string>();
  private readonly services: RunningService<never>[] = [];
  private dataDir = "";

  private constructor(
    readonly lab: Lab,
    readonly gateway: Harness,
  ) {}

  /**
   * Starts the lab and the services; `elementEnv: null` leaves the ovs-element to the test,
   * `agentEnv` adds to (or overrides) the hypervisor-agent's settings.
   */
  static async start(
    elementEnv: Record<string, string> | null = {},
    agentEnv: Record<string, string> = {},
  ): Promise<ElementLab> {
    const lab = await Lab.create();
    let gateway: Harness | undefined;
    try {
      gateway = await startHarness({ commandWaitMs: 90_000 });
      const el = new ElementLab(lab, gateway);
      el.dataDir = mkdtempSync(join(tmpdir(), "sdn-element-"));
      const base = { NATS_URL: gateway.nats.url, LOG_LEVEL: "silent", SDN_DATA_DIR: el.dataDir };
      const specs = [
        [networkGuruSpec, {}],
        [
          hypervisorAgentSpec,
          {
            SDN_HOST_CONNECT_TIMEOUT_MS: "3000",
            SDN_HOST_COMMAND_TIMEOUT_MS: "15000",
            SDN_KVM_PROGRAM_DIR: KVM_PROGRAM_DIR,
            SDN_AGENT_LEASE_MS: "3000",
            SDN_HOST_CHECK_INTERVAL_MS: "1000",
            SDN_SECRET_KEY: Buffer.alloc(32, 9).toString("base64"),
            ...agentEnv,
          },
        ],
        ...(elementEnv === null ? [] : ([[ovsElementSpec, { SDN_AGENT_TIMEOUT_MS: "20000", ...elementEnv }]] as const)),
      ] as const;
      for (const [spec, env] of specs) {
        el.services.push((await startService(spec as never, { ...base, ...env })) as RunningService<never>);
      }
      await waitFor(
        "every service",
        async () => {
          const client = new CommandClient(gateway?.nc as NatsConnection);
          const names: CommandServiceName[] = ["network-guru", "hypervisor-agent"];
          if (elementEnv !== null) names.push("ovs-element");
          for (const s of names) {
            if (!(await client.send(CheckHealth[s], {}, { timeoutMs: 2000 })).ok) return undefined;
          }
          return true;
        },
        30_000,
      );
      return el;
    } catch (err) {
      await gateway?.close();
      await lab.dispose();
      throw err;
    }
  }

  get nc(): NatsConnection {
    return this.gateway.nc;
  }

  /** Agent commands the ovs-element sent so far. */
  agentRoundTrips(): number {
    const element = (this.services[2] as RunningService<never>).state as Element | undefined;
    if (element === undefined) throw new Error("the ovs-element is not running");
    return element.agents.roundTrips;
  }

  async http(method: "GET" | "POST" | "DELETE", url: string, payload?: object, token?: string) {
    return this.gateway.app.inject({
      method,
      url,
      headers: bearer(token ?? this.gateway.adminToken),
      ...(payload === undefined ? {} : { payload }),
    });
  }

  /** Registers a lab host through POST /v1/hosts and remembers its id. */
  async register(h: AnyLabHost): Promise<Host> {
    const body: NewHost =
      h.hypervisor === "kvm"
        ? {
            name: h.name,
            hypervisor: "kvm",
            address: h.address,
            username: (h as KvmLabHost).username,
            privateKey: (h as KvmLabHost).clientPrivateKey,
            hostKeyFingerprint: (h as KvmLabHost).hostKeyFingerprint,
          }
        : {
            name: h.name,
            hypervisor: h.hypervisor,
            address: h.address,
            username: (h as XapiLabHost).username,
            password: (h as XapiLabHost).password,
            tlsCertificate: (h as XapiLabHost).caCertificate,
          };
    const res = await this.http("POST", "/v1/hosts", body);
    if (res.statusCode !== 201) throw new Error(`adding ${h.name}: ${res.statusCode} ${res.body}`);
    const host = res.json<Host>();
    this.hostIds.set(h.name, host.id);
    return host;
  }

  hostId(h: LabHost): string {
    const id = this.hostIds.get(h.name);
    if (id === undefined) throw new Error(`${h.name} is not registered`);
    return id;
  }

  async createNetwork(name: string, cidr: string, token: string): Promise<string> {
    const res = await this.http("POST", "/v1/networks", { name, cidr }, token);
    if (res.statusCode !== 201) throw new Error(`creating ${name}: ${res.statusCode} ${res.body}`);
    return res.json<{ id: string }>().id;
  }

  /** POST /v1/networks/{id}/nics for a lab VM: KVM names its device, XAPI lets the element find it. */
  plugBody(h: AnyLabHost, vm: LabVm): Record<string, string> {
    return h.hypervisor === "kvm"
      ? { vmId: vm.name, hostId: this.hostId(h), hostInterface: vm.hostDevice, mac: vm.mac, ip: vm.ip }
      : { vmId: vm.uuid as string, hostId: this.hostId(h), ip: vm.ip };
  }

  async plug(networkId: string, body: object, token?: string): Promise<Nic> {
    const res = await this.http("POST", `/v1/networks/${networkId}/nics`, body, token);
    if (res.statusCode !== 201) throw new Error(`plug: ${res.statusCode} ${res.body}`);
    return res.json<Nic>();
  }

  async close(): Promise<void> {
    for (const s of [...this.services].reverse()) await s.stop().catch(() => undefined);
    await this.gateway.close().catch(() => undefined);
    await this.lab.dispose();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** What a lab host's OVS holds for a network, read with ovs-vsctl (independent of our code). */
export interface OvsView {
  bridge: string | undefined;
  tunnels: { port: string; type: string; remoteIp: string; key: string; protected: boolean }[];
  ports: string[];
}

interface OvsTable {
  headings: string[];
  data: unknown[][];
}

const cell = (v: unknown): unknown => {
  if (Array.isArray(v) && v[0] === "map") return Object.fromEntries(v[1] as [string, string][]);
  if (Array.isArray(v) && v[0] === "set") return (v[1] as unknown[]).map(cell);
  return v;
};
const rowsOf = (t: OvsTable) =>
  t.data.map((r) => Object.fromEntries(t.headings.map((h, i) => [h, cell(r[i])])) as Record<string, unknown>);

export const ovsView = async (h: LabHost, networkId: string): Promise<OvsView> => {
  const json = await h.vsctl(
    "--format=json",
    "--",
    "--columns=name,external_ids",
    "list",
    "Bridge",
    "--",
    "--columns=name,type,options",
    "list",
    "Interface",
    "--",
    "--columns=name,protected",
    "list",
    "Port",
  );
  const [bridges, ifaces, ports] = json
    .trim()
    .split("\n")
    .map((l) => rowsOf(JSON.parse(l) as OvsTable));
  const bridge = bridges?.find((b) => (b["external_ids"] as Record<string, string>)["sdn-network-id"] === networkId)?.[
    "name"
  ] as string | undefined;
  if (bridge === undefined) return { bridge, tunnels: [], ports: [] };
  const names = (await h.vsctl("list-ports", bridge)).split("\n").filter(Boolean);
  const tunnels = names.flatMap((n) => {
    const i = ifaces?.find((x) => x["name"] === n);
    const type = i?.["type"];
    if (i === undefined || (type !== "gre" && type !== "vxlan")) return [];
    const o = i["options"] as Record<string, string>;
    const p = ports?.find((x) => x["name"] === n);
    return [
      { port: n, type, remoteIp: o["remote_ip"] ?? "", key: o["key"] ?? "", protected: p?.["protected"] === true },
    ];
  });
  return { bridge, tunnels, ports: names };
};

/**
 * Counts the frames a bridge takes in that match `match`, on every port: a counting flow
 * (action NORMAL, so forwarding is unchanged) is added, and `read()` returns its n_packets.
 */
export const countFrames = async (h: LabHost, bridge: string, match: string) => {
  const flow = `priority=60000,${match}`;
  await exec(h.argv(["ovs-ofctl", "add-flow", bridge, `${flow},actions=NORMAL`]));
  return {
    read: async (): Promise<number> => {
      const out = await exec(h.argv(["ovs-ofctl", "dump-flows", bridge, match]));
      return Number(/n_packets=(\d+)/.exec(out)?.[1] ?? Number.NaN);
    },
    remove: () => exec(h.argv(["ovs-ofctl", "--strict", "del-flows", bridge, flow])),
  };
};

/**
 * A host reboot as far as OVS goes: both daemons killed, the database gone, then OVS
 * started again with only the underlay bridge (what the host's own boot recreates).
 */
export const rebootOvs = async (h: LabHost): Promise<void> => {
  for (const daemon of ["ovs-vswitchd", "ovsdb-server"]) {
    await exec(h.argv(["ovs-appctl", "-t", join(h.rundir, `${daemon}.ctl`), "exit"])).catch(() => undefined);
  }
  rmSync(join(h.dir, "conf.db"), { force: true });
  // The userspace datapath's internal port outlives the daemon: the new br-phy replaces it.
  await exec(["ip", "-n", h.ns, "link", "del", "br-phy"]).catch(() => undefined);
  await h.startOvs();
};

/** Ends a XAPI lab host's toolstack (its XAPI emulator): the agent loses the host. */
export const stopXapi = async (h: LabHost): Promise<void> => {
  const pids = (await exec(["ip", "netns", "pids", h.ns])).split("\n").filter(Boolean);
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes("xapi/main.ts")) await exec(["kill", "-KILL", pid]).catch(() => undefined);
  }
};

/** Sends `count` UDP broadcasts from the VM: nothing answers them, so every frame is the broadcast. */
export const sendBroadcasts = async (vm: LabVm, to: string, count: number): Promise<void> => {
  const script = [
    "import socket, time",
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)",
    `for _ in range(${count}):`,
    `    s.sendto(b'sdn', ('${to}', 9)); time.sleep(0.05)`,
  ].join("\n");
  await vm.run(["python3", "-c", script]);
};
