import type { NatsConnection } from "@nats-io/transport-node";
import { bearer, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { CommandClient, JsonBucket, NoResponderError, request, sealNewHost } from "@sdn/bus";
import {
  AddHost,
  agentSubject,
  ApplyTunnels,
  CheckHealth,
  DestroyBridge,
  GetOvsState,
  ListHosts,
  ListVms,
  Ping,
  PlugVif,
  RemoveHost,
  SetupBridge,
  UnplugVif,
  type CommandDefinition,
  type Host,
  type NewHost,
  type RequestOf,
  eventFilter,
} from "@sdn/contracts";
import {
  HOST_PROGRAMS_VERSION,
  hypervisorAgentSpec,
  KVM_FILES,
  XAPI_PLUGIN_FILES,
  type Agent,
} from "@sdn/hypervisor-agent";
import { startService, type RunningService } from "@sdn/runtime";
import { waitFor } from "@sdn/testkit";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_PROGRAMS_DIR, KVM_PROGRAM_DIR, Lab, type KvmLabHost, type XapiLabHost } from "../lab/index.js";
import { AgentProcess } from "./agent-process.js";

let lab: Lab;
let xen: XapiLabHost;
let xcp: XapiLabHost;
let kvm: KvmLabHost;
let kvm2: KvmLabHost;
let bridgeless: XapiLabHost;
let legacy: XapiLabHost;
let outdated: XapiLabHost;
let gateway: Harness;
let nc: NatsConnection;
let agent: AgentProcess;
let replica: RunningService<never> | undefined;
/** Generated per run: no literal secret in the repository. */
const wrongPassword = `wrong-${randomUUID()}`;
const events: string[] = [];
const answers: string[] = [];
const ids: Record<string, string> = {};
const [NET_A, NET_P] = [randomUUID(), randomUUID()];

const agentEnv = () => ({
  NATS_URL: gateway.nats.url,
  LOG_LEVEL: "debug",
  SDN_HOST_CONNECT_TIMEOUT_MS: "3000",
  SDN_HOST_COMMAND_TIMEOUT_MS: "15000",
  SDN_KVM_PROGRAM_DIR: KVM_PROGRAM_DIR,
  SDN_AGENT_LEASE_MS: "3000",
  SDN_HOST_CHECK_INTERVAL_MS: "1000",
  // Both replicas must open each other's sealed credentials.
  SDN_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
});

const send = async <C extends CommandDefinition>(def: C, body: RequestOf<C>, role: "admin" | "tenant" = "admin") => {
  const a = await new CommandClient(nc).send(def, body, { role, timeoutMs: 40_000 });
  answers.push(JSON.stringify(a));
  return a;
};

/** AddHost on the bus, its credentials sealed to the agent as every sender must. */
const addHost = async (req: NewHost) => send(AddHost, await sealNewHost(nc, req));

/** A call to the HTTP API, as the admin unless a token is given. */
const http = async (method: "GET" | "POST" | "DELETE", url: string, payload?: object, token?: string) => {
  const res = await gateway.app.inject({
    method,
    url,
    headers: bearer(token ?? gateway.adminToken),
    ...(payload === undefined ? {} : { payload }),
  });
  answers.push(res.body);
  return res;
};

const agentCall = async <C extends CommandDefinition>(hostId: string, def: C, body: RequestOf<C>) => {
  const a = await request(nc, def, agentSubject(hostId, def.name), body, { timeoutMs: 30_000 });
  answers.push(JSON.stringify(a));
  return a;
};

/** Data of an ok answer; fails the test with the error otherwise. */
const ok = <T>(a: { ok: true; data: T } | { ok: false; error: { code: string; message: string } }): T => {
  if (!a.ok) throw new Error(`expected success, got ${a.error.code}: ${a.error.message}`);
  return a.data;
};

const xapiHost = (h: XapiLabHost, extra: Partial<NewHost> = {}): NewHost => ({
  name: h.name,
  hypervisor: h.hypervisor === "xcp-ng" ? "xcp-ng" : "xenserver",
  address: h.address,
  username: h.username,
  password: h.password,
  tlsCertificate: h.caCertificate,
  ...extra,
});

const kvmHost = (h: KvmLabHost, extra: Partial<NewHost> = {}): NewHost => ({
  name: h.name,
  hypervisor: "kvm",
  address: h.address,
  username: h.username,
  privateKey: h.clientPrivateKey,
  hostKeyFingerprint: h.hostKeyFingerprint,
  ...extra,
});

/** The plugin folder of a XAPI lab host holds exactly the shipped plugin and library. */
const expectShippedPlugin = (h: XapiLabHost) => {
  expect(readdirSync(h.pluginDir).sort()).toEqual([...XAPI_PLUGIN_FILES].sort());
  for (const f of XAPI_PLUGIN_FILES) {
    expect(readFileSync(join(h.pluginDir, f), "utf8")).toBe(readFileSync(join(HOST_PROGRAMS_DIR, f), "utf8"));
    expect(statSync(join(h.pluginDir, f)).mode & 0o777).toBe(f === "sdn-ovs" ? 0o755 : 0o644);
  }
};

/** ovs-vsctl on the lab host, independent of our code. */
const vsctlGet = async (h: { vsctl: (...a: string[]) => Promise<string> }, ...args: string[]) =>
  (await h.vsctl("get", ...args)).trim().replace(/^"(.*)"$/, "$1");

beforeAll(async () => {
  lab = await Lab.create();
  // Fresh hosts: AddHost deploys the plugin over SFTP.
  xen = await lab.addXapiHost("xen", { flavour: "xenserver", withoutPlugin: true });
  xcp = await lab.addXapiHost("xcp", { flavour: "xcp-ng", withoutPlugin: true });
  outdated = await lab.addXapiHost("old", { flavour: "xcp-ng", withoutPlugin: true });
  outdated.installPlugin("0.9.0");
  kvm = await lab.addKvmHost("kvm");
  kvm2 = await lab.addKvmHost("kvm2");
  bridgeless = await lab.addXapiHost("linuxbr", { flavour: "xenserver", networkBackend: "bridge" });
  legacy = await lab.addXapiHost("xcp16", { flavour: "xcp-ng", release: "xcp-1.6" });
  // The gateway's harness: a real nats-server and the HTTP API (called with inject).
  gateway = await startHarness({ commandWaitMs: 30_000 });
  nc = gateway.nc;
  nc.subscribe(eventFilter({ service: "hypervisor-agent" }), { callback: (_e, m) => void events.push(m.string()) });
  agent = AgentProcess.start(agentEnv());
  await waitFor(
    "the agent",
    async () => {
      const a = await new CommandClient(nc).send(CheckHealth["hypervisor-agent"], {}, { timeoutMs: 1000 });
      return a.ok ? true : undefined;
    },
    30_000,
  );
}, 120_000);

afterAll(async () => {
  await replica?.stop();
  await agent?.stop();
  await gateway?.close();
  await lab?.dispose();
});

describe("hypervisor-agent in the emulated lab", () => {
  it("adds a XenServer, an XCP-ng and a KVM host, each Up with its platform and tunnel address", async () => {
    const add = async (req: NewHost) => {
      const res = await http("POST", "/v1/hosts", req);
      expect(res.statusCode, res.body).toBe(201);
      return res.json<Host>();
    };
    expect(readdirSync(xen.pluginDir)).toEqual([]);
    // The plugin is deployed over SSH to dom0: password login, pinned host key ...
    const x = await add(
      xapiHost(xen, { tunnelNetworkLabel: xen.tunnelNetworkLabel, hostKeyFingerprint: xen.hostKeyFingerprint }),
    );
    expect(x).toMatchObject({
      state: "Up",
      hypervisor: "xenserver",
      platform: { name: "XenServer", version: "8.4.0", ovsVersion: "3.1.0" },
      tunnelInterface: { ip: xen.address, device: "br-phy", label: xen.tunnelNetworkLabel, prefixLength: 24 },
      programsVersion: HOST_PROGRAMS_VERSION,
      tls: "pinned",
      hostKeyFingerprint: xen.hostKeyFingerprint,
    });
    expectShippedPlugin(xen);
    // XCP-ng reports its brand and version, and labels its management network as XenServer does.
    // ... or key login, the host key recorded on first contact as asked.
    const c = await add(
      xapiHost(xcp, {
        tunnelNetworkLabel: "Pool-wide network associated with eth0",
        privateKey: xcp.clientPrivateKey,
        trustHostKeyOnFirstContact: true,
      }),
    );
    expect(c).toMatchObject({
      state: "Up",
      platform: { name: "XCP-ng", version: "8.3.0" },
      tunnelInterface: {
        ip: xcp.address,
        device: "br-phy",
        netmask: "255.255.255.0",
        label: "Pool-wide network associated with eth0",
      },
      programsVersion: HOST_PROGRAMS_VERSION,
      hostKeyFingerprint: xcp.hostKeyFingerprint,
    });
    expectShippedPlugin(xcp);
    const k = await add(kvmHost(kvm));
    expect(k).toMatchObject({
      state: "Up",
      platform: { name: "Debian GNU/Linux", ovsVersion: "3.1.0" },
      tunnelInterface: { ip: kvm.address, device: "br-phy" },
      hostKeyFingerprint: kvm.hostKeyFingerprint,
    });
    // Deployed over SFTP into the host's program directory.
    expect(readFileSync(join(kvm.programDir, "sdn-ovs-kvm"), "utf8")).toContain("sdn-ovs-kvm <function>");
    expect(readdirSync(kvm.programDir).sort()).toEqual([...KVM_FILES].sort()); // no temporary file left
    Object.assign(ids, { xen: x.id, xcp: c.id, kvm: k.id });

    const listed = (await http("GET", "/v1/hosts")).json<{ hosts: Host[] }>().hosts;
    expect(listed.map((h) => h.name).sort()).toEqual(["kvm", "xcp", "xen"]);
    expect((await http("GET", `/v1/hosts/${k.id}`)).json<Host>().name).toBe("kvm");
    const tenant = await gateway.tenant();
    expect((await http("GET", "/v1/hosts", undefined, tenant.token)).statusCode).toBe(403);
    for (const id of Object.values(ids)) {
      const pong = await waitFor(`agent serving ${id}`, async () => {
        const a = await agentCall(id, Ping, {}).catch(() => undefined);
        return a?.ok === true ? a.data : undefined;
      });
      expect(pong).toMatchObject({ hostId: id, programsVersion: HOST_PROGRAMS_VERSION });
    }
    expect(events.some((e) => e.includes('"type":"HostAdded"') && e.includes(k.id))).toBe(true);
  }, 90_000);

  it("still handles Xen Cloud Platform's quirks: no product_* keys, no network name-labels", async () => {
    const added = ok(await addHost(xapiHost(legacy, { tunnelNetworkLabel: "cloud-public" })));
    // platform_* name it; the label matches nothing, so the interface holding the address is used.
    expect(added).toMatchObject({
      state: "Up",
      platform: { name: "XCP", version: "1.6.10" },
      tunnelInterface: { ip: legacy.address, device: "br-phy" },
    });
    expect(added.tunnelInterface.label).toBeUndefined();
    ok(await send(RemoveHost, { id: added.id }));
  }, 60_000);

  it("records the host key on first contact only when asked, and takes KVM keys only", async () => {
    const refused = await addHost(kvmHost(kvm2, { hostKeyFingerprint: undefined }));
    expect(refused).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    const trusted = ok(
      await addHost(kvmHost(kvm2, { hostKeyFingerprint: undefined, trustHostKeyOnFirstContact: true })),
    );
    expect(trusted.hostKeyFingerprint).toBe(kvm2.hostKeyFingerprint);
    ok(await send(RemoveHost, { id: trusted.id }));
    await waitFor("kvm2 no longer served", async () =>
      (await agentCall(trusted.id, Ping, {}).catch((e: unknown) => e)) instanceof NoResponderError ? true : undefined,
    );
  }, 60_000);

  it("replaces an outdated XAPI plugin over SSH, and refuses cleanly when the plugin is broken or SSH fails", async () => {
    const bucket = await JsonBucket.open<unknown>(nc, "sdn-hosts");
    const before = (await bucket.keys()).sort();
    const lib = join(outdated.pluginDir, "sdn_ovs.py");
    const refuse = async (req: NewHost, status: number, reason: string) => {
      const res = await http("POST", "/v1/hosts", req);
      expect([res.statusCode, res.json()], reason).toMatchObject([status, { error: { details: { reason } } }]);
      return res.json<{ error: { message: string } }>().error.message;
    };
    // Without SSH the agent cannot deploy: the version check reports what it found.
    renameSync(lib, `${lib}.away`);
    try {
      expect(await refuse(xapiHost(outdated), 422, "HOST_PROGRAM_FAILED")).toContain("No module named 'sdn_ovs'");
    } finally {
      renameSync(`${lib}.away`, lib);
    }
    expect(await refuse(xapiHost(outdated), 422, "PROGRAMS_OUTDATED")).toMatch(
      new RegExp(
        `version 0\\.9\\.0, this agent needs ${HOST_PROGRAMS_VERSION.replace(/\./g, "\\.")}; give the host's SSH hostKeyFingerprint`,
      ),
    );
    const pinned = xapiHost(outdated, { hostKeyFingerprint: outdated.hostKeyFingerprint });
    expect(await refuse({ ...pinned, hostKeyFingerprint: xen.hostKeyFingerprint }, 422, "HOST_KEY_MISMATCH")).toBe(
      `host key of ${outdated.address}:22 is ${outdated.hostKeyFingerprint}, expected ${xen.hostKeyFingerprint}`,
    );
    const stranger = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    }).privateKey;
    expect(await refuse({ ...pinned, privateKey: stranger }, 422, "AUTHENTICATION_FAILED")).toBe(
      `SSH at ${outdated.address}:22 refused the key of 'root'`,
    );
    await outdated.sshd.stop();
    try {
      expect(await refuse(pinned, 503, "UNREACHABLE")).toContain(`cannot reach SSH at ${outdated.address}:22`);
    } finally {
      await outdated.sshd.start();
    }
    expect((await bucket.keys()).sort()).toEqual(before);
    expect(readFileSync(lib, "utf8")).toContain('VERSION = "0.9.0"');

    const added = ok(await addHost(pinned));
    expect(added).toMatchObject({
      state: "Up",
      programsVersion: HOST_PROGRAMS_VERSION,
      hostKeyFingerprint: outdated.hostKeyFingerprint,
    });
    expectShippedPlugin(outdated);
    ok(await send(RemoveHost, { id: added.id }));
  }, 60_000);

  it("leaves the bridges and tunnels it is asked for in each host's OVS database", async () => {
    const hosts = [
      { id: ids["xen"] as string, lab: xen as XapiLabHost | KvmLabHost },
      { id: ids["xcp"] as string, lab: xcp },
      { id: ids["kvm"] as string, lab: kvm },
    ];
    for (const h of hosts) {
      const setup = ok(await agentCall(h.id, SetupBridge, { networkId: NET_A }));
      expect(setup.created).toBe(true);
      expect(setup.bridge.length).toBeLessThanOrEqual(15);
      if (h.lab.hypervisor === "kvm") expect(setup.bridge).toMatch(/^sdn[0-9a-f]{12}$/);
      else expect(setup.bridge).toMatch(/^xapi\d+$/);
      expect(ok(await agentCall(h.id, SetupBridge, { networkId: NET_A }))).toEqual({ ...setup, created: false });
      expect(await vsctlGet(h.lab, "Bridge", setup.bridge, "external_ids:sdn-network-id")).toBe(NET_A);
      expect(await vsctlGet(h.lab, "Bridge", setup.bridge, "datapath_type")).toBe("netdev");

      const others = hosts.filter((o) => o !== h).map((o) => ({ ip: o.lab.address, hostId: o.id }));
      const applied = ok(
        await agentCall(h.id, ApplyTunnels, { networkId: NET_A, greKey: 4294967295, remotes: others }),
      );
      expect(applied.added).toHaveLength(2);
      const ports = (await h.lab.vsctl("list-ports", setup.bridge)).trim().split("\n").sort();
      expect(ports).toEqual([...applied.added].sort());
      for (const t of applied.tunnels) {
        expect(t.port.length).toBeLessThanOrEqual(15);
        expect(await vsctlGet(h.lab, "Interface", t.port, "type")).toBe("gre");
        expect(await vsctlGet(h.lab, "Interface", t.port, "options:key")).toBe("4294967295");
        expect(await vsctlGet(h.lab, "Interface", t.port, "options:remote_ip")).toBe(t.remoteIp);
        expect(await vsctlGet(h.lab, "Port", t.port, "protected")).toBe("true");
        expect(await vsctlGet(h.lab, "Port", t.port, "external_ids:sdn-role")).toBe("tunnel");
      }
      // The whole set each time: one remote left means one tunnel removed; again changes nothing.
      const one = { networkId: NET_A, greKey: 4294967295, remotes: others.slice(0, 1) };
      const shrunk = ok(await agentCall(h.id, ApplyTunnels, one));
      const dropped = applied.tunnels.find((t) => t.remoteIp === others[1]?.ip)?.port;
      expect(shrunk).toMatchObject({ added: [], removed: [dropped] });
      expect(ok(await agentCall(h.id, ApplyTunnels, one))).toMatchObject({ added: [], removed: [] });
      expect((await h.lab.vsctl("list-ports", setup.bridge)).trim()).toBe(shrunk.tunnels[0]?.port);

      const state = ok(await agentCall(h.id, GetOvsState, { networkId: NET_A }));
      expect(state.bridges).toHaveLength(1);
      expect(state.bridges[0]).toMatchObject({ name: setup.bridge, managed: true, networkId: NET_A });
      const reported = state.bridges[0]?.ports.filter((p) => p.externalIds["sdn-role"] === "tunnel") ?? [];
      expect(reported.map((p) => [p.name, p.protected, p.interfaces[0]?.options["key"]])).toEqual([
        [shrunk.tunnels[0]?.port, true, "4294967295"],
      ]);

      expect(ok(await agentCall(h.id, DestroyBridge, { networkId: NET_A }))).toEqual({
        bridge: setup.bridge,
        destroyed: true,
      });
      expect((await h.lab.exec(["ovs-vsctl", "br-exists", setup.bridge])).code).toBe(2);
      expect(ok(await agentCall(h.id, DestroyBridge, { networkId: NET_A })).destroyed).toBe(false);
    }
  }, 90_000);

  it("carries a VM's packets over GRE between a XenServer and a KVM host, and stops them once unplugged", async () => {
    const [x, k] = [ids["xen"] as string, ids["kvm"] as string];
    const key = 3_000_000_007;
    for (const [id, peer] of [
      [x, kvm.address],
      [k, xen.address],
    ] as const) {
      ok(await agentCall(id, SetupBridge, { networkId: NET_P }));
      ok(await agentCall(id, ApplyTunnels, { networkId: NET_P, greKey: key, remotes: [{ ip: peer }] }));
    }
    const vmA = await xen.addVm("vm-a", "192.168.77.1/24");
    const vmB = await kvm.addVm("vm-b", "192.168.77.2/24");
    ok(
      await agentCall(x, PlugVif, {
        networkId: NET_P,
        device: vmA.hostDevice,
        nicId: "nic-a",
        mac: vmA.mac,
        vmId: vmA.uuid,
      }),
    );
    ok(
      await agentCall(k, PlugVif, {
        networkId: NET_P,
        device: vmB.hostDevice,
        nicId: "nic-b",
        mac: vmB.mac,
        vmId: "vm-b",
      }),
    );
    expect(await vmA.ping(vmB.ip)).toBe(true);
    expect(await vmB.ping(vmA.ip)).toBe(true);

    const xenVms = ok(await agentCall(x, ListVms, {})).vms;
    expect(xenVms).toEqual([
      expect.objectContaining({
        id: vmA.uuid,
        name: "vm-a",
        powerState: "Running",
        nics: [expect.objectContaining({ device: vmA.hostDevice, mac: vmA.mac })],
      }),
    ]);
    expect(ok(await agentCall(k, ListVms, {})).vms).toEqual([
      expect.objectContaining({ id: "vm-b", nics: [{ device: vmB.hostDevice, mac: vmB.mac }] }),
    ]);

    expect(ok(await agentCall(k, UnplugVif, { networkId: NET_P, device: vmB.hostDevice }))).toEqual({
      port: vmB.hostDevice,
      removed: true,
    });
    expect(await vmA.ping(vmB.ip, 2)).toBe(false);
    expect(ok(await agentCall(k, UnplugVif, { networkId: NET_P, device: vmB.hostDevice })).removed).toBe(false);
  }, 90_000);

  it("refuses a wrong password, an unreachable address, a wrong host key and a non-OVS host, storing nothing", async () => {
    const bucket = await JsonBucket.open<unknown>(nc, "sdn-hosts");
    const before = (await bucket.keys()).sort();
    const cases: [NewHost, number, string][] = [
      [xapiHost(bridgeless, { password: wrongPassword }), 422, "AUTHENTICATION_FAILED"],
      [kvmHost(kvm, { name: "nowhere", address: lab.unusedAddress }), 503, "UNREACHABLE"],
      [xapiHost(xen, { name: "nowhere-x", address: lab.unusedAddress }), 503, "UNREACHABLE"],
      [kvmHost(kvm2, { name: "kvm2", hostKeyFingerprint: kvm.hostKeyFingerprint }), 422, "HOST_KEY_MISMATCH"],
      [xapiHost(bridgeless), 422, "NOT_AN_OVS_HOST"],
      [xapiHost(bridgeless, { tlsCertificate: xen.caCertificate }), 422, "TLS_VERIFICATION_FAILED"],
    ];
    for (const [req, status, reason] of cases) {
      const res = await http("POST", "/v1/hosts", req);
      expect([res.statusCode, res.json()], req.name).toMatchObject([status, { error: { details: { reason } } }]);
    }
    const mismatch = [...answers].reverse().find((a) => a.includes("HOST_KEY_MISMATCH")) ?? "";
    expect(mismatch).toContain(kvm2.hostKeyFingerprint);
    expect((await bucket.keys()).sort()).toEqual(before);
    expect(ok(await send(ListHosts, {})).hosts).toHaveLength(3);
    expect(await send(ListHosts, {}, "tenant")).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  }, 90_000);

  it("turns a failing XAPI plugin into a readable XENAPI_PLUGIN_FAILURE error", async () => {
    const lib = join(xcp.pluginDir, "sdn_ovs.py");
    renameSync(lib, `${lib}.away`);
    try {
      // Ping runs the plugin (GetOvsState is answered from the OVSDB monitor's cache).
      const a = await agentCall(ids["xcp"] as string, Ping, {});
      expect(a).toMatchObject({
        ok: false,
        error: {
          code: "UNPROCESSABLE",
          message: "host plugin sdn-ovs (version) exited with an error: ModuleNotFoundError: No module named 'sdn_ovs'",
          details: { hostError: "XENAPI_PLUGIN_FAILURE" },
        },
      });
    } finally {
      renameSync(`${lib}.away`, lib);
    }
    // A refusal of our own host program keeps its code.
    const missing = await agentCall(ids["xcp"] as string, ApplyTunnels, {
      networkId: randomUUID(),
      greKey: 1,
      remotes: [],
    });
    expect(missing).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND", details: { hostError: "BRIDGE_NOT_FOUND" } },
    });
  }, 60_000);

  it("answers truthfully from the KVM script: exit status and answer agree", async () => {
    const script = join(kvm.programDir, "sdn-ovs-kvm");
    const failed = await kvm.exec(
      [script, "apply_tunnels"],
      JSON.stringify({ networkId: "nope", key: 1, remotes: [] }),
    );
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ ok: false, error: { code: "BRIDGE_NOT_FOUND" } });
    const bad = await kvm.exec(
      [script, "apply_tunnels"],
      JSON.stringify({ networkId: "nope", key: 2 ** 32, remotes: [] }),
    );
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    const fine = await kvm.exec([script, "ovs_state"], "{}");
    expect(fine.code).toBe(0);
    expect(JSON.parse(fine.stdout).ok).toBe(true);
  });

  it("keeps every secret out of logs, answers, events and KV values", async () => {
    const secrets = [
      xen.password,
      xcp.password,
      wrongPassword,
      // The body of the private key, wherever it might be cut.
      ...kvm.clientPrivateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----")),
    ];
    const kv: string[] = [];
    for (const name of ["sdn-hosts", "sdn-host-index", "sdn-host-leases"]) {
      const b = await JsonBucket.open<unknown>(nc, name);
      for (const k of await b.keys()) kv.push(JSON.stringify((await b.get(k))?.value));
    }
    expect(kv.some((v) => v.includes('"credentials":"v1:'))).toBe(true);
    expect(agent.output).toContain("took charge of host");
    for (const [where, texts] of Object.entries({ logs: [agent.output], answers, events, kv })) {
      for (const s of secrets)
        expect(
          texts.some((t) => t.includes(s)),
          `${where} leak`,
        ).toBe(false);
    }
  });

  it("lets one replica at a time drive a host, and another take over when it stops", async () => {
    replica = (await startService(hypervisorAgentSpec, {
      ...agentEnv(),
      LOG_LEVEL: "silent",
      SDN_DATA_DIR: lab.dir,
    })) as unknown as RunningService<never>;
    const second = (replica.state as Agent).manager;
    const hostIds = Object.values(ids);
    const first = ok(await agentCall(ids["kvm"] as string, Ping, {})).agentInstanceId;
    await new Promise((r) => setTimeout(r, 1500)); // a few lease passes of both replicas
    expect(second.served()).toEqual([]);
    await agent.stop(); // releases its leases
    await waitFor("the second replica to take every host", () =>
      hostIds.every((id) => second.served().includes(id)) ? true : undefined,
    );
    for (const id of hostIds) {
      const pong = ok(await agentCall(id, Ping, {}));
      expect(pong.agentInstanceId).not.toBe(first);
      expect(pong.agentInstanceId).toBe(replica.context.instanceId);
    }
    // Removal: the replica in charge stops serving the host (and logs out of XAPI).
    expect((await http("DELETE", `/v1/hosts/${ids["xen"]}`)).statusCode).toBe(204);
    await waitFor("xen no longer served", () => (second.served().includes(ids["xen"] as string) ? undefined : true));
    await expect(agentCall(ids["xen"] as string, Ping, {})).rejects.toBeInstanceOf(NoResponderError);
    expect(events.some((e) => e.includes('"type":"HostRemoved"'))).toBe(true);
  }, 60_000);
});
