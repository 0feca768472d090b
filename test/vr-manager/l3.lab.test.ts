import type { NatsConnection } from "@nats-io/transport-node";
import { bearer, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { CommandClient, request, sealNewHost } from "@sdn/bus";
import {
  AddHost,
  agentSubject,
  CreateNetwork,
  CreatePublicIpRange,
  ImplementNetwork,
  Ping,
  ListNics,
  PlugNic,
  type CommandDefinition,
  type Host,
  type Network,
  type NewHost,
  type PublicIp,
  type RequestOf,
  type Router,
  eventFilter,
} from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { waitFor } from "@sdn/testkit";
import { vrManagerSpec } from "@sdn/vr-manager";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exec,
  execQuiet,
  inNetns,
  KVM_PROGRAM_DIR,
  Lab,
  type KvmLabHost,
  type LabHost,
  type LabVm,
  type XapiLabHost,
} from "../lab/index.js";
import {
  HeldConnection,
  LabInternet,
  LabRouter,
  ping,
  probe,
  PROBE,
  ROUTER_PORT,
  ROUTER_PROGRAM_DIR,
  serveEcho,
  serveProbe,
} from "./router-lab.js";

/*
 * The L3 services with real traffic. Two KVM hosts and a XenServer host; every NIC, the
 * routers' included, is plugged by the ovs-element (the GRE mesh follows). Router rt1
 * (direct SSH on the lab's management network) runs on kvm1 and serves networks A and B;
 * router rt2 serves network C on the XenServer host and is
 * reachable only from that host (link-local control link: the XAPI relay). Both routers'
 * public interfaces sit on the "outside" namespace's bridge (203.0.113.0/24), which stands
 * for the internet: its server at 203.0.113.1 tells every client its source address.
 */

let lab: Lab;
let kvm1: KvmLabHost;
let kvm2: KvmLabHost;
let xen: XapiLabHost;
let gw: Harness;
let nc: NatsConnection;
const services: RunningService<never>[] = [];
const events: { type: string; data: Record<string, unknown> }[] = [];
let tenant: { accountId: string; token: string };
let outsider: { accountId: string; token: string };
let outside: string;
let rt1: LabRouter;
let rt2: LabRouter;
const hostIds: Record<string, string> = {};
const net: Record<"A" | "B" | "C", Network> = {} as never;
const pip: Record<"A1" | "A2" | "B1" | "C1", PublicIp> = {} as never;
const vm: Record<"A1" | "A2" | "B1" | "C1", LabVm> = {} as never;
let router1: Router;
/** rt2's VM and its port on the XenServer host, as XAPI knows them. */
let rt2Port: { vmId: string; device: string };

const OUTSIDE_IP = "203.0.113.1";
const STRANGER_IP = "203.0.113.200";

const send = async <C extends CommandDefinition>(def: C, body: RequestOf<C>, as: "admin" | "tenant" = "admin") => {
  const a = await new CommandClient(nc).send(def, body, {
    role: as,
    ...(as === "tenant" ? { accountId: tenant.accountId } : {}),
    timeoutMs: 60_000,
  });
  if (!a.ok) throw new Error(`${def.name} failed: ${a.error.code} ${a.error.message}`);
  return a.data;
};

/** AddHost on the bus, its credentials sealed to the agent as every sender must. */
const addHost = async (req: NewHost) => send(AddHost, await sealNewHost(nc, req));

const http = async (method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: object, token?: string) =>
  gw.app.inject({
    method,
    url,
    headers: bearer(token ?? tenant.token),
    ...(payload === undefined ? {} : { payload }),
  });

/** A call that must succeed with `status`; its JSON body. */
const ok = async <T = Record<string, unknown>>(
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  payload?: object,
  status = method === "POST" ? 201 : 200,
  token?: string,
): Promise<T> => {
  const res = await http(method, url, payload, token);
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(status);
  return (res.body === "" ? undefined : res.json()) as T;
};

const admin = () => gw.adminToken;

/** A VM on a host, its NIC plugged into the network by the ovs-element. */
const addVm = async (host: LabHost, name: string, network: Network, ip: string) => {
  const v = await host.addVm(name, `${ip}/24`);
  await send(PlugNic, {
    networkId: network.id,
    vmId: v.uuid ?? name,
    hostId: hostIds[host.name] as string,
    hostInterface: v.hostDevice,
    mac: v.mac,
    ip,
  });
  await v.run(["ip", "route", "add", "default", "via", network.gateway]);
  return v;
};

const routerBody = (
  r: LabRouter,
  networkIds: string[],
  nics: { networkId: string; interface: string; hostInterface: string }[],
) => ({
  name: r.name,
  hostId: hostIds["kvm1"] as string,
  vmId: `vm-${r.name}`,
  networkIds,
  nics,
  controlAddress: r.controlAddress,
  hostKeyFingerprint: r.hostKeyFingerprint,
  publicInterface: "eth1",
});

const eventsOf = (type: string) => events.filter((e) => e.type === type);

/** The ovs-element's router NICs on a network. */
const routerNics = async (network: Network) =>
  (await send(ListNics, { networkId: network.id })).nics.filter((n) => n.role === "router");

beforeAll(async () => {
  lab = await Lab.create();
  [kvm1, kvm2, xen] = [
    await lab.addKvmHost("kvm1"),
    await lab.addKvmHost("kvm2"),
    await lab.addXapiHost("xen", { flavour: "xenserver" }),
  ];
  gw = await startHarness({ commandWaitMs: 60_000 });
  nc = gw.nc;
  nc.subscribe(eventFilter({ service: "vr-manager" }), {
    callback: (_e, m) => void events.push(m.json<{ type: string; data: Record<string, unknown> }>()),
  });
  const base = { NATS_URL: gw.nats.url, LOG_LEVEL: "silent", SDN_DATA_DIR: join(lab.dir, "data") };
  const relayKey = join(lab.dir, "id_sdn_router");
  await exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xen-relay", "-f", relayKey]);
  services.push(
    (await startService(networkGuruSpec, base)) as unknown as RunningService<never>,
    (await startService(hypervisorAgentSpec, {
      ...base,
      SDN_KVM_PROGRAM_DIR: KVM_PROGRAM_DIR,
      SDN_AGENT_RELAY_KEY_FILE: relayKey,
      SDN_HOST_CONNECT_TIMEOUT_MS: "3000",
      SDN_HOST_COMMAND_TIMEOUT_MS: "30000",
    })) as unknown as RunningService<never>,
    (await startService(ovsElementSpec, {
      ...base,
      SDN_AGENT_TIMEOUT_MS: "20000",
    })) as unknown as RunningService<never>,
    (await startService(vrManagerSpec, {
      ...base,
      SDN_VR_PROGRAM_DIR: ROUTER_PROGRAM_DIR,
      SDN_VR_RELAY_KEY_FILE: relayKey,
      SDN_VR_CONNECT_TIMEOUT_MS: "3000",
      SDN_VR_COMMAND_TIMEOUT_MS: "20000",
      SDN_VR_CHECK_INTERVAL_MS: "700",
    })) as unknown as RunningService<never>,
  );
  for (const h of [kvm1, kvm2]) {
    const added: Host = await addHost({
      name: h.name,
      hypervisor: "kvm",
      address: h.address,
      username: h.username,
      privateKey: h.clientPrivateKey,
      hostKeyFingerprint: h.hostKeyFingerprint,
    });
    hostIds[h.name] = added.id;
  }
  hostIds["xen"] = (
    await addHost({
      name: "xen",
      hypervisor: "xenserver",
      address: xen.address,
      username: xen.username,
      password: xen.password,
      tlsCertificate: xen.caCertificate,
    })
  ).id;
  for (const id of Object.values(hostIds)) {
    await waitFor(`agent serving ${id}`, async () =>
      (await request(nc, Ping, agentSubject(id, "Ping"), {}).catch(() => undefined))?.ok ? true : undefined,
    );
  }
  tenant = await gw.tenant("acme");
  outsider = await gw.tenant("other");
  await send(CreatePublicIpRange, {
    cidr: "203.0.113.0/24",
    gateway: OUTSIDE_IP,
    startIp: "203.0.113.10",
    endIp: "203.0.113.99",
  });
  for (const [k, cidr] of [
    ["A", "10.1.0.0/24"],
    ["B", "10.2.0.0/24"],
    ["C", "10.3.0.0/24"],
  ] as const) {
    const created = await send(CreateNetwork, { name: `net-${k}`, cidr }, "tenant");
    net[k] = await send(ImplementNetwork, { networkId: created.id }, "tenant");
  }
  // The first address a network acquires is its source NAT address.
  for (const [k, n] of [
    ["A1", "A"],
    ["A2", "A"],
    ["B1", "B"],
    ["C1", "C"],
  ] as const) {
    pip[k] = await ok<PublicIp>("POST", "/v1/public-ips", { networkId: net[n].id });
  }

  // Guest side: VMs (the element builds bridges and tunnels as NICs come).
  vm.A1 = await addVm(kvm1, "a1", net.A, "10.1.0.11");
  vm.A2 = await addVm(kvm2, "a2", net.A, "10.1.0.12");
  vm.B1 = await addVm(kvm2, "b1", net.B, "10.2.0.11");
  vm.C1 = await addVm(xen, "c1", net.C, "10.3.0.11");

  // The internet, with a server that reports the source address it sees.
  const internet = await LabInternet.create(lab, "out", [`${OUTSIDE_IP}/24`, `${STRANGER_IP}/24`]);
  outside = internet.ns;
  await serveProbe(outside, 80, "outside");
  await serveProbe(outside, 8088, "outside-8088");

  // The routers.
  const key = (await ok<{ publicKey: string }>("GET", "/v1/routers/ssh-key", undefined, 200, admin())).publicKey;
  rt1 = await LabRouter.create(lab, "rt1");
  await rt1.controlOnUnderlay(lab, 200);
  await internet.plug(rt1, "p-rt1");
  await rt1.guestInterface(kvm1, "eth2", "vr1a");
  await rt1.guestInterface(kvm1, "eth3", "vr1b");
  await rt1.startSshd([key]);
  rt2 = await LabRouter.create(lab, "rt2");
  await rt2.controlOnLinkLocal(xen, "169.254.0.2");
  await internet.plug(rt2, "p-rt2");
  rt2Port = await rt2.guestInterface(xen, "eth2", "vr2c");
  await rt2.startSshd([readFileSync(`${relayKey}.pub`, "utf8")]);

  for (const [name, v] of Object.entries(vm)) await serveProbe(v.ns, 80, `vm${name}`);
}, 180_000);

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  await gw?.close();
  await lab?.dispose();
});

describe("vr-manager: virtual routers with real traffic", () => {
  it("registers a router over SSH with its pinned host key, and refuses a wrong key or a taken network", async () => {
    const wrong = await http(
      "POST",
      "/v1/routers",
      {
        ...routerBody(rt1, [net.A.id], [{ networkId: net.A.id, interface: "eth2", hostInterface: "vr1a" }]),
        hostKeyFingerprint: kvm1.hostKeyFingerprint,
      },
      admin(),
    );
    expect(wrong.statusCode, wrong.body).toBe(422);
    expect(wrong.json()).toMatchObject({ error: { details: { reason: "HOST_KEY_MISMATCH" } } });
    expect(await routerNics(net.A)).toEqual([]); // the NIC it plugged was unplugged again
    expect((await http("POST", "/v1/routers", routerBody(rt1, [net.A.id], []))).statusCode).toBe(403);

    router1 = await ok<Router>(
      "POST",
      "/v1/routers",
      routerBody(
        rt1,
        [net.A.id, net.B.id],
        [
          { networkId: net.A.id, interface: "eth2", hostInterface: "vr1a" },
          { networkId: net.B.id, interface: "eth3", hostInterface: "vr1b" },
        ],
      ),
      201,
      admin(),
    );
    expect(router1).toMatchObject({ state: "Applied", generation: 1, appliedGeneration: 1, programVersion: "1.6.0" });
    // Its NICs were plugged by the ovs-element and hold the networks' gateway addresses.
    for (const [network, device] of [
      [net.A, "vr1a"],
      [net.B, "vr1b"],
    ] as const) {
      const [nic] = await routerNics(network);
      expect(nic).toMatchObject({ ip: network.gateway, device, vmId: "vm-rt1", state: "Plugged" });
      expect(router1.nics.find((n) => n.networkId === network.id)?.nicId).toBe(nic?.id);
    }
    // Deployed over SFTP into the router's program folder; the router saved what it applied.
    expect(readFileSync(join(rt1.programDir, "sdn-router"), "utf8")).toContain("sdn-router apply");
    expect(rt1.savedState().generation).toBe(1);
    const listed = await ok<{ routers: Router[] }>("GET", "/v1/routers", undefined, 200, admin());
    expect(listed.routers.map((r) => r.name)).toEqual(["rt1"]);

    const taken = await http("POST", "/v1/routers", routerBody(rt1, [net.A.id], []), admin());
    expect(taken.statusCode, taken.body).toBe(409);
    await waitFor("RouterRegistered", () => (eventsOf("RouterRegistered").length === 1 ? true : undefined));
  });

  it("registers a router reachable only from its XenServer host, through the host's XAPI relay", async () => {
    // The vr-manager's namespace cannot reach the router's link-local address itself.
    expect((await execQuiet(["python3", PROBE, "get", "169.254.0.2", "3922", "--timeout", "1"])).code).not.toBe(0);
    const r = await ok<Router>(
      "POST",
      "/v1/routers",
      {
        ...routerBody(rt2, [net.C.id], [{ networkId: net.C.id, interface: "eth2", hostInterface: rt2Port.device }]),
        vmId: rt2Port.vmId,
        hostId: hostIds["xen"],
        transport: "host-relay",
      },
      201,
      admin(),
    );
    expect(r).toMatchObject({ state: "Applied", transport: "host-relay", appliedGeneration: 1 });
    expect(rt2.savedState().generation).toBe(1);
    // Every login came from the host's side of the link-local network.
    const log = readFileSync(join(rt2.dir, "ssh", "sshd.log"), "utf8");
    expect(log).toMatch(/Accepted publickey for root from 169\.254\.0\.1/);
    expect(log).not.toMatch(/Accepted publickey for root from (?!169\.254\.0\.1)/);
  });

  it("source NAT: the outside sees each network's source NAT address", async () => {
    expect(await probe(vm.A1.ns, OUTSIDE_IP, 80)).toBe(`outside ${pip.A1.ip}`);
    expect(await probe(vm.A2.ns, OUTSIDE_IP, 80)).toBe(`outside ${pip.A1.ip}`); // across the GRE tunnel
    expect(await probe(vm.B1.ns, OUTSIDE_IP, 80)).toBe(`outside ${pip.B1.ip}`);
    expect(await probe(vm.C1.ns, OUTSIDE_IP, 80)).toBe(`outside ${pip.C1.ip}`); // the relayed router
    // Nothing from the outside reaches a VM by its private address or the router unasked.
    expect(await probe(outside, pip.A1.ip, 80, { timeoutS: 1 })).toBeUndefined();
  });

  it("port forwarding: public:8080 reaches the VM's port 80 once the firewall opens it; other ports do not", async () => {
    const a = `/v1/networks/${net.A.id}`;
    const pf = await ok<{ id: string; apply: { status: string } }>("POST", `${a}/port-forwards`, {
      publicIpId: pip.A1.id,
      protocol: "tcp",
      publicStartPort: 8080,
      privateIp: vm.A1.ip,
      privateStartPort: 80,
    });
    expect(pf.apply.status).toBe("applied");
    // Ingress is denied until a firewall rule opens it.
    expect(await probe(outside, pip.A1.ip, 8080, { timeoutS: 1 })).toBeUndefined();
    await ok("POST", `${a}/firewall-rules`, {
      publicIpId: pip.A1.id,
      protocol: "tcp",
      startPort: 8000,
      endPort: 9100,
      sourceCidrs: ["203.0.113.0/25"],
    });
    expect(await probe(outside, pip.A1.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);
    // Open in the firewall but not forwarded: nothing answers.
    expect(await probe(outside, pip.A1.ip, 8081, { timeoutS: 1 })).toBeUndefined();
    // Forwarded, but from a source outside the allowed CIDR.
    expect(await probe(outside, pip.A1.ip, 8080, { source: STRANGER_IP, timeoutS: 1 })).toBeUndefined();

    // A port range maps one to one (public 9000-9001 → private 7000-7001).
    await serveProbe(vm.A2.ns, 7001, "vmA2-7001");
    await ok("POST", `${a}/port-forwards`, {
      publicIpId: pip.A1.id,
      protocol: "tcp",
      publicStartPort: 9000,
      publicEndPort: 9001,
      privateIp: vm.A2.ip,
      privateStartPort: 7000,
      privateEndPort: 7001,
    });
    expect(await probe(outside, pip.A1.ip, 9001)).toBe(`vmA2-7001 ${OUTSIDE_IP}`);

    // Deleting the forward closes it again.
    await ok("DELETE", `${a}/port-forwards/${pf.id}`, undefined, 200);
    expect(await probe(outside, pip.A1.ip, 8080, { timeoutS: 1 })).toBeUndefined();
    await ok("POST", `${a}/port-forwards`, {
      publicIpId: pip.A1.id,
      protocol: "tcp",
      publicStartPort: 8080,
      privateIp: vm.A1.ip,
      privateStartPort: 80,
    });
    expect(await probe(outside, pip.A1.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);

    // The same through the relayed router.
    const c = `/v1/networks/${net.C.id}`;
    await ok("POST", `${c}/port-forwards`, {
      publicIpId: pip.C1.id,
      protocol: "tcp",
      publicStartPort: 8080,
      privateIp: vm.C1.ip,
      privateStartPort: 80,
    });
    await ok("POST", `${c}/firewall-rules`, { publicIpId: pip.C1.id, protocol: "tcp", startPort: 8080 });
    expect(await probe(outside, pip.C1.ip, 8080)).toBe(`vmC1 ${OUTSIDE_IP}`);
    expect(await probe(outside, pip.C1.ip, 8081, { timeoutS: 1 })).toBeUndefined();
  });

  it("static NAT: the VM is reached on its own public IP and leaves with it; the firewall still rules", async () => {
    const a = `/v1/networks/${net.A.id}`;
    await serveProbe(vm.A2.ns, 81, "vmA2-81");
    await ok("POST", `${a}/static-nats`, { publicIpId: pip.A2.id, privateIp: vm.A2.ip });
    expect(await probe(outside, pip.A2.ip, 80, { timeoutS: 1 })).toBeUndefined();
    expect(await ping(outside, pip.A2.ip)).toBe(false);
    await ok("POST", `${a}/firewall-rules`, { publicIpId: pip.A2.id, protocol: "tcp", startPort: 80 });
    await ok("POST", `${a}/firewall-rules`, { publicIpId: pip.A2.id, protocol: "icmp", icmpType: 8 });
    expect(await probe(outside, pip.A2.ip, 80)).toBe(`vmA2 ${OUTSIDE_IP}`);
    expect(await ping(outside, pip.A2.ip)).toBe(true);
    expect(await probe(outside, pip.A2.ip, 81, { timeoutS: 1 })).toBeUndefined(); // not opened
    // Outbound, the VM leaves with its static NAT address, its neighbour with the source NAT one.
    expect(await probe(vm.A2.ns, OUTSIDE_IP, 80)).toBe(`outside ${pip.A2.ip}`);
    expect(await probe(vm.A1.ns, OUTSIDE_IP, 80)).toBe(`outside ${pip.A1.ip}`);
  });

  it("answers a DF packet too big for the guest network with frag-needed, never drops it silently", async () => {
    // The router's guest interfaces take the network's MTU (GRE overhead off the underlay's 1500).
    expect(await exec(["ip", "-n", rt1.ns, "-o", "link", "show", "eth2"])).toContain("mtu 1450 ");
    // 1472 bytes of payload: a 1500-byte packet, from the internet to a VM on another host
    // than the router's (behind it: static NAT), which the GRE tunnel could not carry.
    const big = await execQuiet(
      inNetns(outside, ["ping", "-M", "do", "-s", "1472", "-c", "2", "-i", "0.3", "-W", "2", pip.A2.ip]),
    );
    const said = `${big.stdout}${big.stderr}`;
    expect(big.code === 0 || /Frag needed|mtu ?=? ?1450/.test(said), said).toBe(true);
    // What fits still goes through: 1450 bytes in all.
    expect(
      (await execQuiet(inNetns(outside, ["ping", "-M", "do", "-s", "1422", "-c", "1", "-W", "2", pip.A2.ip]))).code,
    ).toBe(0);
  });

  it("takes its control port (3922) on the control path only: not from the internet, not from guest networks", async () => {
    const reaches = async (ns: string, ip: string) =>
      (await probe(ns, ip, ROUTER_PORT, { timeoutS: 1 }))?.startsWith("SSH-") === true;
    // The internet: the public address, and the control address routed through the public interface
    // (Linux takes a packet for any of its addresses on any interface).
    await exec(["ip", "-n", outside, "route", "replace", `${rt1.controlAddress}/32`, "via", pip.A1.ip]);
    expect(await reaches(outside, pip.A1.ip)).toBe(false);
    expect(await reaches(outside, rt1.controlAddress)).toBe(false);
    // A guest: the gateway address, and the control addresses through its default route (the router).
    expect(await reaches(vm.A1.ns, net.A.gateway)).toBe(false);
    expect(await reaches(vm.A1.ns, rt1.controlAddress)).toBe(false);
    expect(await reaches(vm.C1.ns, rt2.controlAddress)).toBe(false);
    // The control path still reaches it, and the vr-manager still applies rules through it.
    const fromManager = await execQuiet(["python3", PROBE, "get", rt1.controlAddress, String(ROUTER_PORT)]);
    expect(fromManager.stdout).toMatch(/^SSH-/);
    const a = `/v1/networks/${net.A.id}`;
    const rule = await ok<{ id: string; apply: { status: string } }>("POST", `${a}/firewall-rules`, {
      publicIpId: pip.A1.id,
      protocol: "icmp",
    });
    expect(rule.apply.status).toBe("applied");
    expect(await ping(outside, pip.A1.ip)).toBe(true);
    await ok("DELETE", `${a}/firewall-rules/${rule.id}`, undefined, 200);
  });

  it("firewall: ICMP per rule, opened and closed again", async () => {
    const a = `/v1/networks/${net.A.id}`;
    expect(await ping(outside, pip.A1.ip)).toBe(false);
    const rule = await ok<{ id: string }>("POST", `${a}/firewall-rules`, {
      publicIpId: pip.A1.id,
      protocol: "icmp",
      icmpType: 8,
      icmpCode: 0,
      sourceCidrs: ["203.0.113.0/25"],
    });
    expect(await ping(outside, pip.A1.ip)).toBe(true);
    const stranger = await exec([
      "ip",
      "netns",
      "exec",
      outside,
      "ping",
      "-c",
      "1",
      "-W",
      "1",
      "-I",
      STRANGER_IP,
      pip.A1.ip,
    ]).catch(() => "blocked");
    expect(stranger).toBe("blocked");
    await ok("DELETE", `${a}/firewall-rules/${rule.id}`, undefined, 200);
    expect(await ping(outside, pip.A1.ip)).toBe(false);
  });

  it("egress: default deny blocks what no rule allows", async () => {
    const a = `/v1/networks/${net.A.id}`;
    expect(await probe(vm.A1.ns, OUTSIDE_IP, 8088)).toBe(`outside-8088 ${pip.A1.ip}`);
    await ok("PUT", `${a}/egress-policy`, { defaultPolicy: "deny" }, 200);
    expect(await probe(vm.A1.ns, OUTSIDE_IP, 80, { timeoutS: 1 })).toBeUndefined();
    const allow = await ok<{ id: string }>("POST", `${a}/egress-rules`, {
      protocol: "tcp",
      startPort: 80,
      destinationCidrs: ["203.0.113.0/24"],
    });
    expect(await probe(vm.A1.ns, OUTSIDE_IP, 80)).toBe(`outside ${pip.A1.ip}`);
    expect(await probe(vm.A1.ns, OUTSIDE_IP, 8088, { timeoutS: 1 })).toBeUndefined();
    expect(await ping(vm.A1.ns, OUTSIDE_IP)).toBe(false);
    // Network B keeps its own default (allow).
    expect(await probe(vm.B1.ns, OUTSIDE_IP, 8088)).toBe(`outside-8088 ${pip.B1.ip}`);
    expect(await ok("GET", `${a}/egress-policy`, undefined, 200)).toMatchObject({ defaultPolicy: "deny" });
    await ok("DELETE", `${a}/egress-rules/${allow.id}`, undefined, 200);
    await ok("PUT", `${a}/egress-policy`, { defaultPolicy: "allow" }, 200);
    expect(await probe(vm.A1.ns, OUTSIDE_IP, 8088)).toBe(`outside-8088 ${pip.A1.ip}`);
  });

  it("a revoked rule cuts the connections it let through; open ones still allowed go on", async () => {
    const a = `/v1/networks/${net.A.id}`;
    // A cut connection the new rules still allow is picked up mid-stream: the kernel's default.
    expect((await rt1.exec(["sysctl", "-n", "net.netfilter.nf_conntrack_tcp_loose"])).stdout.trim()).toBe("1");
    await serveEcho(vm.A1.ns, 5000);
    await serveEcho(vm.A2.ns, 7000);
    const pf = await ok<{ id: string }>("POST", `${a}/port-forwards`, {
      publicIpId: pip.A1.id,
      protocol: "tcp",
      publicStartPort: 8070,
      privateIp: vm.A1.ip,
      privateStartPort: 5000,
    });
    // Two connections to the same public IP: one through the forward about to go, one through 9000 → vmA2:7000.
    const revoked = await HeldConnection.open(lab, outside, pip.A1.ip, 8070);
    const kept = await HeldConnection.open(lab, outside, pip.A1.ip, 9000);
    expect(await revoked.say("one")).toBe("ok one");
    expect(await kept.say("one")).toBe("ok one");
    await ok("DELETE", `${a}/port-forwards/${pf.id}`, undefined, 200);
    expect(await revoked.say("two")).toMatch(/^dead /);
    await expect(HeldConnection.open(lab, outside, pip.A1.ip, 8070, 1)).rejects.toThrow(/no connection/);
    expect(await kept.say("two")).toBe("ok two");

    // Egress: network A's open connection out dies with the policy turned to deny; network B's goes on.
    await serveEcho(outside, 7777);
    const outbound = await HeldConnection.open(lab, vm.A1.ns, OUTSIDE_IP, 7777);
    const otherNetwork = await HeldConnection.open(lab, vm.B1.ns, OUTSIDE_IP, 7777);
    expect(await outbound.say("one")).toBe("ok one");
    expect(await otherNetwork.say("one")).toBe("ok one");
    await ok("PUT", `${a}/egress-policy`, { defaultPolicy: "deny" }, 200);
    expect(await outbound.say("two")).toMatch(/^dead /);
    expect(await otherNetwork.say("two")).toBe("ok two");
    await ok("PUT", `${a}/egress-policy`, { defaultPolicy: "allow" }, 200);
    expect(await kept.say("three")).toBe("ok three");
  });

  it("load balancing: requests spread over two VMs, and a dead member stops receiving", async () => {
    const a = `/v1/networks/${net.A.id}`;
    await serveProbe(vm.A1.ns, 8000, "vmA1-lb");
    const dying = await serveProbe(vm.A2.ns, 8000, "vmA2-lb");
    await ok("POST", `${a}/load-balancers`, {
      name: "web",
      publicIpId: pip.A1.id,
      publicPort: 80,
      privatePort: 8000,
      algorithm: "roundrobin",
      members: [vm.A1.ip, vm.A2.ip],
      healthCheck: { intervalMs: 200, fall: 2, rise: 1 },
    });
    await ok("POST", `${a}/firewall-rules`, { publicIpId: pip.A1.id, protocol: "tcp", startPort: 80 });
    const count = async (n: number) => {
      const seen: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const answer = (await probe(outside, pip.A1.ip, 80)) ?? "none";
        const who = answer.split(" ")[0] as string;
        seen[who] = (seen[who] ?? 0) + 1;
      }
      return seen;
    };
    // haproxy marks members up after their first check.
    await waitFor("both members up", async () => ((await count(4))["vmA2-lb"] ?? 0) > 0 || undefined, 10_000);
    const spread = await count(10);
    expect(spread["vmA1-lb"] ?? 0).toBeGreaterThanOrEqual(4);
    expect(spread["vmA2-lb"] ?? 0).toBeGreaterThanOrEqual(4);
    expect((spread["vmA1-lb"] ?? 0) + (spread["vmA2-lb"] ?? 0)).toBe(10);

    process.kill(dying, "SIGTERM");
    await new Promise((r) => setTimeout(r, 1000)); // two failed checks 200 ms apart, with margin
    expect(await count(10)).toEqual({ "vmA1-lb": 10 });
  });

  it("routing between two networks of a router: blocked by default, enabled, disabled", async () => {
    expect(await ping(vm.A1.ns, vm.B1.ip)).toBe(false);
    const route = await ok<{ id: string; networkIds: string[] }>(
      "POST",
      `/v1/networks/${net.A.id}/inter-network-routes`,
      { peerNetworkId: net.B.id },
    );
    expect([...route.networkIds].sort()).toEqual([net.A.id, net.B.id].sort());
    expect(await ping(vm.A1.ns, vm.B1.ip)).toBe(true);
    expect(await ping(vm.B1.ns, vm.A1.ip)).toBe(true);
    expect(await ping(vm.A1.ns, vm.C1.ip)).toBe(false); // another router's network
    const listed = await ok<{ interNetworkRoutes: { id: string }[] }>(
      "GET",
      `/v1/networks/${net.B.id}/inter-network-routes`,
      undefined,
      200,
    );
    expect(listed.interNetworkRoutes.map((r) => r.id)).toEqual([route.id]);
    // Networks of two routers cannot be routed with each other.
    const apart = await http("POST", `/v1/networks/${net.A.id}/inter-network-routes`, { peerNetworkId: net.C.id });
    expect(apart.statusCode, apart.body).toBe(422);
    await ok("DELETE", `/v1/networks/${net.A.id}/inter-network-routes/${route.id}`, undefined, 200);
    expect(await ping(vm.A1.ns, vm.B1.ip)).toBe(false);
  });

  it("a change the router refuses is undone, and the old rules keep working", async () => {
    const a = `/v1/networks/${net.A.id}`;
    const before = await rt1.iptables();
    const generation = rt1.savedState().generation;
    expect(await probe(outside, pip.A1.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);
    // Something else on the router holds the port: haproxy cannot bind it.
    await serveProbe(rt1.ns, 443, "squatter");
    const refused = await http("POST", `${a}/load-balancers`, {
      publicIpId: pip.A1.id,
      publicPort: 443,
      privatePort: 8000,
      algorithm: "leastconn",
      members: [vm.A1.ip],
    });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json()).toMatchObject({
      error: { details: { reason: "ROUTER_REFUSED", routerCode: "HAPROXY_RELOAD_FAILED", routerId: router1.id } },
    });
    expect(await rt1.iptables()).toBe(before);
    expect(rt1.savedState().generation).toBe(generation);
    expect(await probe(outside, pip.A1.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);
    expect((await probe(outside, pip.A1.ip, 80))?.startsWith("vmA1-lb")).toBe(true);
    const lbs = await ok<{ loadBalancers: { publicPort: number }[] }>("GET", `${a}/load-balancers`, undefined, 200);
    expect(lbs.loadBalancers.map((l) => l.publicPort)).toEqual([80]);
    expect(eventsOf("RulesFailed").some((e) => e.data["code"] === "HAPROXY_RELOAD_FAILED")).toBe(true);
    // The router still runs the generation before; the record says so (and, once the periodic
    // check has compared it with the reverted desired configuration, that it is Applied).
    const r = await ok<Router>("GET", `/v1/routers/${router1.id}`, undefined, 200, admin());
    expect(r.appliedGeneration).toBe(generation);
    expect(r.generation).toBeGreaterThan(generation);
    // The periodic check sees that the router runs the (reverted) desired configuration.
    await waitFor("router Applied again", async () => {
      const now = await ok<Router>("GET", `/v1/routers/${router1.id}`, undefined, 200, admin());
      return now.state === "Applied" || undefined;
    });
  });

  it("a router that was down gets the current configuration when it is back", async () => {
    const a = `/v1/networks/${net.A.id}`;
    await rt1.stopSshd();
    const rule = await ok<{ apply: { status: string; message?: string } }>("POST", `${a}/firewall-rules`, {
      publicIpId: pip.A1.id,
      protocol: "icmp",
    });
    expect(rule.apply.status).toBe("pending");
    // The tenant learns that the router is away, not where its control address is.
    expect(rule.apply.message).toContain("unreachable");
    expect(rule.apply.message).not.toContain(rt1.controlAddress);
    expect(await ping(outside, pip.A1.ip)).toBe(false);
    expect(await ok<Router>("GET", `/v1/routers/${router1.id}`, undefined, 200, admin())).toMatchObject({
      state: "Unreachable",
    });
    await rt1.startSshd([]);
    await waitFor(
      "the router back and configured",
      async () => ((await ping(outside, pip.A1.ip, 1)) ? true : undefined),
      15_000,
    );
    // The router runs the rules a moment before the vr-manager has recorded its answer.
    const r = await waitFor(
      "the router recorded as Applied",
      async () => {
        const got = await ok<Router>("GET", `/v1/routers/${router1.id}`, undefined, 200, admin());
        return got.state === "Applied" ? got : undefined;
      },
      10_000,
    );
    expect(rt1.savedState().generation).toBe(r.appliedGeneration);
  });

  it("checks rules and keeps tenants apart", async () => {
    const a = `/v1/networks/${net.A.id}`;
    const bad = async (path: string, body: object, status: number) => {
      const res = await http("POST", `${a}/${path}`, body);
      expect(res.statusCode, res.body).toBe(status);
    };
    await bad(
      "port-forwards",
      { publicIpId: pip.A1.id, protocol: "tcp", publicStartPort: 7000, privateIp: "10.9.0.5", privateStartPort: 80 },
      422,
    );
    await bad(
      "port-forwards",
      { publicIpId: pip.B1.id, protocol: "tcp", publicStartPort: 7000, privateIp: vm.A1.ip, privateStartPort: 80 },
      422,
    );
    await bad(
      "port-forwards",
      { publicIpId: pip.A1.id, protocol: "tcp", publicStartPort: 8080, privateIp: vm.A2.ip, privateStartPort: 80 },
      409,
    );
    await bad(
      "port-forwards",
      {
        publicIpId: pip.A1.id,
        protocol: "tcp",
        publicStartPort: 7000,
        publicEndPort: 7005,
        privateIp: vm.A1.ip,
        privateStartPort: 80,
      },
      422,
    );
    await bad("static-nats", { publicIpId: pip.A1.id, privateIp: vm.A1.ip }, 422);
    await bad("firewall-rules", { publicIpId: pip.A1.id, protocol: "icmp", startPort: 22 }, 422);
    await bad("egress-rules", { protocol: "tcp", startPort: 22, destinationCidrs: ["10.0.0.1/8"] }, 422);
    await bad(
      "load-balancers",
      { publicIpId: pip.A1.id, publicPort: 8080, privatePort: 80, algorithm: "source", members: [vm.A1.ip] },
      409,
    );
    await bad(
      "port-forwards",
      { publicIpId: pip.A1.id, protocol: "sctp", publicStartPort: 1, privateIp: vm.A1.ip, privateStartPort: 1 },
      400,
    );
    // Another tenant sees nothing of network A.
    expect((await http("GET", `${a}/port-forwards`, undefined, outsider.token)).statusCode).toBe(404);
    expect((await http("POST", `${a}/egress-rules`, { protocol: "all" }, outsider.token)).statusCode).toBe(404);
    expect((await http("GET", "/v1/routers", undefined, outsider.token)).statusCode).toBe(403);
    const mine = await ok<{ portForwards: { privateIp: string }[] }>("GET", `${a}/port-forwards`, undefined, 200);
    expect(mine.portForwards).toHaveLength(2);
  });

  it("forgets a router; its network's rules stay stored for the next one", async () => {
    const routers = (await ok<{ routers: Router[] }>("GET", "/v1/routers", undefined, 200, admin())).routers;
    const r2 = routers.find((r) => r.name === "rt2") as Router;
    expect(await routerNics(net.C)).toHaveLength(1);
    await ok("DELETE", `/v1/routers/${r2.id}`, undefined, 204, admin());
    expect(await routerNics(net.C)).toEqual([]);
    const rule = await ok<{ apply: { status: string } }>("POST", `/v1/networks/${net.C.id}/firewall-rules`, {
      publicIpId: pip.C1.id,
      protocol: "icmp",
    });
    expect(rule.apply.status).toBe("no-router");
    const listed = await ok<{ firewallRules: unknown[] }>(
      "GET",
      `/v1/networks/${net.C.id}/firewall-rules`,
      undefined,
      200,
    );
    expect(listed.firewallRules).toHaveLength(2);
    expect(eventsOf("RulesApplied").length).toBeGreaterThan(10);
  });
});
