import type { Nic, Tunnel } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabVm } from "../lab/index.js";
import {
  ElementLab,
  stopXapi,
  ovsView,
  rebootOvs,
  sendBroadcasts,
  countFrames,
  type AnyLabHost,
} from "./element-lab.js";

/*
 * The ovs-element against the emulated lab: four hypervisors (XenServer, XCP-ng, two KVM),
 * real OVS, real GRE packets. Reconciliation runs every second here, so the bounds below
 * are a few rounds of it.
 */

const CIDR = "192.168.60.0/24";
// Measured 6–10 s on a quiet machine; once >20 s in a CI run (12-pair ping probes are slow
// while links are down), so the bound leaves room for a loaded machine.
const RECONCILE_BOUND_MS = 45_000;

let el: ElementLab;
let hosts: AnyLabHost[];
let tenant: { accountId: string; token: string };
let other: { accountId: string; token: string };
const net: Record<"a" | "b", string> = { a: "", b: "" };
/** The VMs of each network, one per host, in the order of `hosts`. */
const vms: Record<"a" | "b", LabVm[]> = { a: [], b: [] };
const nics: Record<"a" | "b", Nic[]> = { a: [], b: [] };

beforeAll(async () => {
  el = await ElementLab.start({ SDN_RECONCILE_INTERVAL_MS: "1000", SDN_TUNNEL_RETRY_MIN_MS: "500" });
  const lab = el.lab;
  hosts = [
    await lab.addXapiHost("xen", { flavour: "xenserver" }),
    await lab.addXapiHost("xcp", { flavour: "xcp-ng" }),
    await lab.addKvmHost("kvm1"),
    await lab.addKvmHost("kvm2"),
  ];
  for (const h of hosts) await el.register(h);
  tenant = await el.gateway.tenant("acme");
  other = await el.gateway.tenant("globex");
}, 180_000);

afterAll(async () => {
  await el?.close();
}, 120_000);

const pingAll = async (pairs: [LabVm, string][], count = 1) =>
  Promise.all(pairs.map(async ([vm, ip]) => ({ from: vm.name, to: ip, ok: await vm.ping(ip, count) })));

/** Every ordered pair of the network's VMs, as [source, destination ip]. */
const meshPairs = (list: LabVm[]): [LabVm, string][] =>
  list.flatMap((a) => list.filter((b) => b !== a).map((b): [LabVm, string] => [a, b.ip]));

describe("ovs-element in the emulated lab", () => {
  it("declares the providers and answers canHandle with reasons", async () => {
    const res = await el.http("GET", "/v1/providers", undefined, tenant.token);
    expect(res.statusCode).toBe(200);
    const ovs = res.json<{ providers: { name: string; services: { service: string; delegatedTo?: string }[] }[] }>()
      .providers[0];
    expect(ovs?.name).toBe("Ovs");
    expect(ovs?.services.find((s) => s.service === "Connectivity")?.delegatedTo).toBeUndefined();
    for (const s of ["Gateway", "SourceNat", "StaticNat", "PortForwarding", "Firewall", "LoadBalancing"]) {
      expect(ovs?.services.find((x) => x.service === s)?.delegatedTo, s).toBe("VirtualRouter");
    }
    net.a = await el.createNetwork("net-a", CIDR, tenant.token);
    net.b = await el.createNetwork("net-b", CIDR, tenant.token);
    const verdict = async (service: string, query = "") =>
      (
        await el.http("GET", `/v1/networks/${net.a}/services/${service}${query}`, undefined, tenant.token)
      ).json<object>();
    expect(await verdict("Connectivity")).toMatchObject({ canHandle: true, provider: "Ovs" });
    expect(await verdict("StaticNat")).toMatchObject({ canHandle: true, delegatedTo: "VirtualRouter" });
    expect(await verdict("Dhcp")).toMatchObject({ canHandle: true, delegatedTo: "VirtualRouter" });
    expect(await verdict("UserData", "?provider=VirtualRouter")).toMatchObject({ canHandle: true });
    expect(await verdict("Vpn")).toMatchObject({
      canHandle: false,
      reason: "service Vpn is not offered on network net-a",
    });
    expect(await verdict("Connectivity", "?provider=VirtualRouter")).toMatchObject({
      canHandle: false,
      reason: "Connectivity on network net-a is provided by Ovs, not VirtualRouter",
    });
    expect(
      (await el.http("GET", `/v1/networks/${net.a}/services/Connectivity`, undefined, other.token)).statusCode,
    ).toBe(404);
  });

  it("meshes two networks with the same CIDR over four hosts: each VM reaches its own network only", async () => {
    for (const [i, h] of hosts.entries()) {
      vms.a.push(await h.addVm(`a${i}`, `192.168.60.${11 + i}/24`));
      vms.b.push(await h.addVm(`b${i}`, `192.168.60.${21 + i}/24`));
    }
    // All eight plugs at once, both networks: the mesh must come out whole anyway.
    const plugged = await Promise.all(
      (["a", "b"] as const).flatMap((n) =>
        hosts.map(
          async (h, i) => [n, i, await el.plug(net[n], el.plugBody(h, vms[n][i] as LabVm), tenant.token)] as const,
        ),
      ),
    );
    for (const [n, i, nic] of plugged) {
      const vm = vms[n][i] as LabVm;
      expect(nic).toMatchObject({ ip: vm.ip, mac: vm.mac, device: vm.hostDevice, mtu: 1450, state: "Plugged" });
      nics[n][i] = nic;
    }
    for (const n of ["a", "b"] as const) {
      const tunnels = (await el.http("GET", `/v1/networks/${net[n]}/tunnels`, undefined, tenant.token)).json<{
        tunnels: Tunnel[];
      }>().tunnels;
      expect(tunnels).toHaveLength(12);
      expect(tunnels.every((t) => t.state === "Established" && t.port !== null)).toBe(true);
      // Each host's OVS: one protected GRE port to each of the three others, with the network's key.
      const key = String(tunnels[0]?.key);
      for (const h of hosts) {
        const view = await ovsView(h, net[n]);
        const peers = hosts.filter((p) => p !== h).map((p) => p.address);
        expect(view.tunnels.map((t) => t.remoteIp).sort(), `${h.name} ${n}`).toEqual(peers.sort());
        expect(view.tunnels.every((t) => t.protected && t.key === key)).toBe(true);
      }
    }
    expect((await pingAll([...meshPairs(vms.a), ...meshPairs(vms.b)])).filter((p) => !p.ok)).toEqual([]);
    // Same CIDR, other network: nothing gets across.
    const across = vms.a.flatMap((a) => vms.b.map((b): [LabVm, string] => [a, b.ip]));
    expect((await pingAll(across)).filter((p) => p.ok)).toEqual([]);
  }, 120_000);

  it("carries broadcast across a full mesh of four hosts without a loop", async () => {
    const [src, dst] = [vms.a[0] as LabVm, vms.a[3] as LabVm];
    // ARP is broadcast: with the neighbour entry gone, a ping needs it to work.
    await src.run(["ip", "neigh", "flush", "dev", "eth0"]);
    expect(await src.ping(dst.ip, 1)).toBe(true);
    const counters = await Promise.all(
      hosts.map(async (h) => countFrames(h, (await ovsView(h, net.a)).bridge as string, "udp,tp_dst=9")),
    );
    const BROADCASTS = 20;
    try {
      await sendBroadcasts(src, "192.168.60.255", BROADCASTS);
      await new Promise((r) => setTimeout(r, 500));
      const seen = await Promise.all(counters.map((c) => c.read()));
      // Every host's bridge takes each broadcast in exactly once: the source host from the
      // VM, each peer from its tunnel to the source. A peer never sends it on through its
      // other tunnels (Port.protected), so nothing comes back: no loop, no storm.
      expect(seen).toEqual(hosts.map(() => BROADCASTS));
      expect((await pingAll(meshPairs(vms.a))).filter((p) => !p.ok)).toEqual([]);
    } finally {
      for (const c of counters) await c.remove();
    }
  }, 60_000);

  it("removes a host's bridge and the peers' tunnels to it when its last NIC on the network goes", async () => {
    const last = hosts[3] as AnyLabHost;
    const nic = nics.b[3] as Nic;
    const res = await el.http("DELETE", `/v1/networks/${net.b}/nics/${nic.id}`, undefined, tenant.token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: nic.id, state: "Unplugged" });
    expect((await ovsView(last, net.b)).bridge).toBeUndefined();
    for (const h of hosts.slice(0, 3)) {
      const remotes = (await ovsView(h, net.b)).tunnels.map((t) => t.remoteIp);
      expect(remotes, h.name).toHaveLength(2);
      expect(remotes).not.toContain(last.address);
    }
    // net-a still spans that host.
    expect((await ovsView(last, net.a)).tunnels).toHaveLength(3);
    const tunnels = (await el.http("GET", `/v1/networks/${net.b}/tunnels`, undefined, tenant.token)).json<{
      tunnels: Tunnel[];
    }>().tunnels;
    expect(tunnels).toHaveLength(6);
    const listed = (await el.http("GET", `/v1/networks/${net.b}/nics`, undefined, tenant.token)).json<{
      nics: Nic[];
    }>();
    expect(listed.nics.map((n) => n.id)).not.toContain(nic.id);
    expect((await pingAll(meshPairs(vms.b.slice(0, 3)))).filter((p) => !p.ok)).toEqual([]);
    expect(await (vms.b[0] as LabVm).ping((vms.b[3] as LabVm).ip, 1)).toBe(false);
  }, 60_000);

  it("restores a deleted bridge, a deleted tunnel and a host whose OVS restarted empty", async () => {
    const [xen, xcp, kvm1] = hosts as [AnyLabHost, AnyLabHost, AnyLabHost];
    const started = Date.now();
    const bridge = (await ovsView(kvm1, net.a)).bridge as string;
    await kvm1.vsctl("del-br", bridge);
    const lost = (await ovsView(xen, net.a)).tunnels[0]?.port as string;
    await xen.vsctl("del-port", lost);
    await rebootOvs(xcp);
    expect((await ovsView(xcp, net.a)).bridge).toBeUndefined();
    const [vXen, vXcp, vKvm] = vms.a as [LabVm, LabVm, LabVm];
    await waitFor(
      "every net-a VM to reach the others again",
      async () => ((await pingAll(meshPairs(vms.a))).every((p) => p.ok) ? true : undefined),
      RECONCILE_BOUND_MS,
    );
    const took = Date.now() - started;
    expect(took).toBeLessThan(RECONCILE_BOUND_MS);
    expect(await vKvm.ping(vXcp.ip)).toBe(true);
    expect(await vXen.ping(vKvm.ip)).toBe(true);
    for (const h of hosts) expect((await ovsView(h, net.a)).tunnels, h.name).toHaveLength(3);
    // net-b lost its bridge on the rebooted host too, and got it back.
    expect((await ovsView(xcp, net.b)).tunnels).toHaveLength(2);
  }, 90_000);

  it("ends 50 concurrent plugs across the hosts in one complete, duplicate-free mesh", async () => {
    const netC = await el.createNetwork("net-c", "10.77.0.0/16", tenant.token);
    const ports = await Promise.all(hosts.map((h, i) => h.addGuestPorts(`c${i}-`, i < 2 ? 13 : 12)));
    const devices = hosts.map((h, i) => (ports[i] ?? []).map((p) => [h, p] as const));
    const before = el.agentRoundTrips();
    const results = await Promise.all(
      devices.flat().map(async ([h, p]) =>
        // As an admin: a tenant's NIC creates are serialised by the gateway's quota check
        // (count and create under one per-account lock), which would hide the coalescing
        // measured here.
        el.http("POST", `/v1/networks/${netC}/nics`, { vmId: p.vmId, hostId: el.hostId(h), hostInterface: p.device }),
      ),
    );
    expect(results.filter((r) => r.statusCode !== 201).map((r) => r.body)).toEqual([]);
    const plugged = results.map((r) => r.json<Nic>());
    expect(plugged).toHaveLength(50);
    expect(new Set(plugged.map((n) => n.ip)).size).toBe(50);
    expect(new Set(plugged.map((n) => n.mac)).size).toBe(50);
    for (const n of plugged) expect(n.mac).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
    for (const [i, h] of hosts.entries()) {
      const view = await ovsView(h, netC);
      const peers = hosts.filter((p) => p !== h).map((p) => p.address);
      expect(view.tunnels.map((t) => t.remoteIp).sort(), h.name).toEqual(peers.sort());
      const vifs = view.ports.filter((p) => !view.tunnels.some((t) => t.port === p));
      expect(vifs.sort()).toEqual((devices[i] ?? []).map(([, p]) => p.device).sort());
    }
    const tunnels = (await el.http("GET", `/v1/networks/${netC}/tunnels`, undefined, tenant.token)).json<{
      tunnels: Tunnel[];
    }>().tunnels;
    expect(tunnels.filter((t) => t.state === "Established")).toHaveLength(12);
    // Plugs that arrive together share mesh passes: fewer than a full pass (4 ApplyTunnels) per plug
    // on top of its PlugVif (the bridge comes with the first ApplyTunnels or PlugVif: no SetupBridge).
    const used = el.agentRoundTrips() - before;
    expect(used).toBeLessThan(50 * 2 + 50 * 4);
  }, 120_000);

  it("answers another tenant 404 and refuses bad input with clear 4xx, leaving nothing behind", async () => {
    const kvm1 = hosts[2] as AnyLabHost;
    const body = { vmId: "vm-x", hostId: el.hostId(kvm1), hostInterface: "nodev0" };
    const count = async () =>
      (await el.http("GET", `/v1/networks/${net.a}/nics`, undefined, tenant.token)).json<{ nics: Nic[] }>().nics.length;
    const before = await count();
    const expectError = async (payload: object, status: number, code: string, path?: string, token = tenant.token) => {
      const res = await el.http("POST", `/v1/networks/${net.a}/nics`, payload, token);
      expect([res.statusCode, res.json()], JSON.stringify(payload)).toMatchObject([
        status,
        { error: { code, ...(path === undefined ? {} : { details: { issues: [{ path }] } }) } },
      ]);
    };
    await expectError(body, 404, "NOT_FOUND", undefined, other.token);
    for (const url of [`/v1/networks/${net.a}/nics`, `/v1/networks/${net.a}/tunnels`]) {
      expect((await el.http("GET", url, undefined, other.token)).statusCode).toBe(404);
    }
    const victim = nics.a[0] as Nic;
    expect(
      (await el.http("DELETE", `/v1/networks/${net.a}/nics/${victim.id}`, undefined, other.token)).statusCode,
    ).toBe(404);
    await expectError({ ...body, hostId: "no-such-host" }, 422, "UNPROCESSABLE", "/hostId");
    await expectError({ ...body, ip: "10.9.9.9" }, 422, "UNPROCESSABLE", "/ip");
    await expectError({ ...body, ip: (vms.a[1] as LabVm).ip }, 409, "CONFLICT", "/ip");
    await expectError({ vmId: "vm-x", hostId: el.hostId(kvm1) }, 422, "UNPROCESSABLE", "/hostInterface");
    await expectError({ ...body, role: "router" }, 403, "FORBIDDEN");
    await expectError(body, 422, "UNPROCESSABLE", "/hostInterface");
    await expectError({ ...body, hostInterface: (vms.a[2] as LabVm).hostDevice }, 409, "CONFLICT", "/hostInterface");
    await expectError({ ...body, bogus: 1 }, 400, "VALIDATION_FAILED");
    // A host that is not Up.
    const down = await el.lab.addXapiHost("down", { flavour: "xcp-ng" });
    await el.register(down);
    await stopXapi(down);
    await waitFor("the host to be Disconnected", async () => {
      const h = (await el.http("GET", `/v1/hosts/${el.hostId(down)}`)).json<{ state: string }>();
      return h.state === "Disconnected" ? true : undefined;
    });
    await expectError({ ...body, hostId: el.hostId(down) }, 409, "CONFLICT", "/hostId");
    expect((await el.http("DELETE", `/v1/hosts/${el.hostId(down)}`)).statusCode).toBe(204);
    expect(await count()).toBe(before);
    // The failed device plug left no port, no address and no membership behind.
    expect((await ovsView(kvm1, net.a)).ports).not.toContain("nodev0");
    expect((await ovsView(kvm1, net.a)).tunnels).toHaveLength(3);
  }, 90_000);

  it("plugs a router NIC (admins) holding the network's gateway address", async () => {
    const kvm2 = hosts[3] as AnyLabHost;
    const router = await kvm2.addVm("router-a", "192.168.60.1/24");
    const nic = await el.plug(net.a, {
      vmId: "router-a",
      hostId: el.hostId(kvm2),
      hostInterface: router.hostDevice,
      mac: router.mac,
      role: "router",
    });
    expect(nic).toMatchObject({ ip: "192.168.60.1", role: "router", gateway: "192.168.60.1", state: "Plugged" });
    expect(await (vms.a[0] as LabVm).ping("192.168.60.1")).toBe(true);
  }, 60_000);
});
