import type { Network, Nic, Router } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec, Lab, type LabHost, type LabVm } from "../lab/index.js";
import { LabInternet, LabRouter, ping, probe, serveProbe, startIn } from "./router-lab.js";
import { OUTSIDE_IP, RouterStack } from "./router-stack.js";
import { cloudInitProbe, dhcpClient, type DhcpLease } from "./guest-clients.js";

/*
 * DHCP, DNS, user data and metadata on the virtual router, with real clients: VMs on a KVM
 * host and an XCP-ng host get their addresses from the router's dnsmasq (dhclient, busybox
 * udhcpc), resolve each other with dig, and cloud-init's CloudStack datasource reads their
 * user data and metadata from the router. Router rt serves networks A and B (routed to each
 * other); its public side is the "outside" namespace, whose DNS server (203.0.113.53)
 * answers *.example.test, the names the router forwards.
 */

let lab: Lab;
let api: RouterStack;
let rt: LabRouter;
let router: Router;
const hosts: Record<"kvm" | "xcp", LabHost> = {} as never;
const net: Record<"A" | "B", Network> = {} as never;
const vms: Record<string, { vm: LabVm; nic: Nic }> = {};
const netnsDirs: string[] = [];

const UPSTREAM_DNS = "203.0.113.53";
const USER_DATA = "#cloud-config\nhostname: web-1\n";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFRoaXMgaXMgYSB0ZXN0IGtleSBmb3IgdGhlIGxhYiAwMDAw ann@lab";
const b64 = (text: string) => Buffer.from(text).toString("base64");

const call = async <T>(method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: object, token?: string) => {
  const res = await api.http(method, url, payload, token);
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.json<T>();
};

/** A VM on `host` with no address, its NIC plugged into `network` through the API (with guest data). */
const plugVm = async (host: LabHost, name: string, network: Network, guestData: object = {}) => {
  const vm = await host.addVm(name, "192.0.2.254/32");
  await vm.run(["ip", "addr", "flush", "dev", "eth0"]);
  const nic = await call<Nic>("POST", `/v1/networks/${network.id}/nics`, {
    vmId: vm.uuid ?? name,
    hostId: api.hostIds[host.name],
    hostInterface: vm.hostDevice,
    mac: vm.mac,
    ...guestData,
  });
  vms[name] = { vm, nic };
  return { vm, nic };
};

/** What the router's dnsmasq (the DNS server DHCP gave) answers a VM of network A or B, one line per record. */
const dig = async (vm: LabVm, ...args: string[]) => {
  const server = Object.values(vms).find((v) => v.vm === vm)?.nic.gateway as string;
  return (await vm.exec(["dig", `@${server}`, "+short", "+time=2", "+tries=2", ...args])).stdout.trim();
};

/** The router's applied generation, as it saved it. */
const generation = () => rt.savedState().generation;

beforeAll(async () => {
  lab = await Lab.create();
  hosts.kvm = await lab.addKvmHost("kvm1");
  hosts.xcp = await lab.addXapiHost("xcp", { flavour: "xcp-ng" });
  api = await RouterStack.start(lab, [hosts.kvm, hosts.xcp], {
    vrManager: { SDN_VR_CHECK_INTERVAL_MS: "60000" },
    lastPublicIp: "203.0.113.49",
  });
  net.A = await call<Network>("POST", "/v1/networks", {
    name: "web",
    cidr: "10.1.0.0/24",
    domain: "web.internal",
    dns: [UPSTREAM_DNS],
  });
  net.B = await call<Network>("POST", "/v1/networks", { name: "Back End", cidr: "10.2.0.0/24" });
  for (const n of [net.A, net.B]) await call("POST", "/v1/public-ips", { networkId: n.id });

  // The internet: a server that reports the client's address, and an upstream DNS server.
  const internet = await LabInternet.create(lab, "out", [`${OUTSIDE_IP}/24`, `${UPSTREAM_DNS}/24`]);
  await serveProbe(internet.ns, 80, "outside");
  startIn(internet.ns, [
    "dnsmasq",
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--no-resolv",
    "--no-hosts",
    "--bind-interfaces",
    `--listen-address=${UPSTREAM_DNS}`,
    "--address=/example.test/203.0.113.80",
    "--pid-file=",
  ]);

  const key = await api.routerKey();
  rt = await LabRouter.create(lab, "rt");
  await rt.controlOnUnderlay(lab, 200);
  await internet.plug(rt, "p-rt");
  await rt.guestInterface(hosts.kvm, "eth2", "vra");
  await rt.guestInterface(hosts.kvm, "eth3", "vrb");
  await rt.startSshd([key]);
  router = await call<Router>(
    "POST",
    "/v1/routers",
    {
      name: "rt",
      hostId: api.hostIds["kvm1"],
      vmId: "vm-rt",
      networkIds: [net.A.id, net.B.id],
      nics: [
        { networkId: net.A.id, interface: "eth2", hostInterface: "vra" },
        { networkId: net.B.id, interface: "eth3", hostInterface: "vrb" },
      ],
      controlAddress: rt.controlAddress,
      hostKeyFingerprint: rt.hostKeyFingerprint,
      publicInterface: "eth1",
    },
    api.adminToken,
  );
  await call("POST", `/v1/networks/${net.A.id}/inter-network-routes`, { peerNetworkId: net.B.id });

  await plugVm(hosts.kvm, "web-1", net.A, { userData: b64(USER_DATA), publicKeys: [KEY] });
  await plugVm(hosts.xcp, "web-2", net.A, { hostname: "web-two" });
  await plugVm(hosts.kvm, "db-1", net.B);
}, 240_000);

afterAll(async () => {
  await api?.close();
  await lab?.dispose();
  for (const d of netnsDirs) rmSync(d, { recursive: true, force: true });
});

describe("guest services on the virtual router (real DHCP, DNS and cloud-init clients)", () => {
  const leases: Record<string, DhcpLease> = {};

  it("gives every VM its reserved address, the gateway, the MTU and the routes, by dhclient and udhcpc", async () => {
    expect(router.state).toBe("Applied");
    for (const [name, client] of [
      ["web-1", "dhclient"],
      ["web-2", "udhcpc"],
      ["db-1", "dhclient"],
    ] as const) {
      const { vm, nic } = vms[name] as { vm: LabVm; nic: Nic };
      const lease = await dhcpClient(lab, vm, client);
      expect(lease, `${name} (${client}) got no lease`).toBeDefined();
      leases[name] = lease as DhcpLease;
      expect(lease).toMatchObject({ ip: nic.ip, router: nic.gateway, mtu: nic.mtu, dns: nic.gateway });
      expect((await vm.run(["ip", "-j", "addr", "show", "eth0"])).includes(`"local":"${nic.ip}"`)).toBe(true);
    }
    expect(leases["web-1"]).toMatchObject({ hostname: "web-1", domain: "web.internal" });
    expect(leases["web-2"]).toMatchObject({ hostname: "web-two", domain: "web.internal" });
    expect(leases["db-1"]).toMatchObject({ domain: "back-end.internal" });
    // Option 121 to the routed network, with the default route in it (RFC 3442).
    expect(leases["web-1"]?.classlessRoutes).toBe("24 10 2 0 10 1 0 1 0 10 1 0 1");
  });

  it("the VMs reach each other (across hosts and routed) and the internet through the router", async () => {
    const [w1, w2, d1] = ["web-1", "web-2", "db-1"].map((n) => vms[n] as { vm: LabVm; nic: Nic });
    expect(await ping(w1!.vm.ns, w2!.nic.ip)).toBe(true);
    expect(await ping(w1!.vm.ns, d1!.nic.ip)).toBe(true);
    expect(await probe(w2!.vm.ns, OUTSIDE_IP, 80)).toMatch(/^outside 203\.0\.113\./);
  });

  it("resolves the VMs by name in their network's domain, backwards too, and forwards other names", async () => {
    const { vm } = vms["web-1"] as { vm: LabVm };
    const ips = (n: string) => (vms[n] as { nic: Nic }).nic.ip;
    expect(await dig(vm, "web-two.web.internal")).toBe(ips("web-2"));
    expect(await dig(vm, "db-1.back-end.internal")).toBe(ips("db-1"));
    expect(await dig(vm, "-x", ips("web-2"))).toBe("web-two.web.internal.");
    expect(await dig(vm, "www.example.test")).toBe("203.0.113.80"); // forwarded upstream
    expect(await dig(vm, "nobody.web.internal")).toBe(""); // our domain is never forwarded
  });

  it("cloud-init's CloudStack datasource reads the VM's user data and metadata; another VM cannot", async () => {
    const web1 = vms["web-1"] as { vm: LabVm; nic: Nic };
    const web2 = vms["web-2"] as { vm: LabVm; nic: Nic };
    const seen = await cloudInitProbe(lab, web1.vm, netnsDirs, "web.internal", web1.nic.gateway);
    expect(seen).toMatchObject({
      ok: true,
      vr: web1.nic.gateway,
      userdata: USER_DATA,
      metadata: {
        "instance-id": "web-1",
        "local-hostname": "web-1",
        "local-ipv4": web1.nic.ip,
        "public-keys": KEY,
      },
    });
    expect(seen.metadata["public-ipv4"]).toMatch(/^203\.0\.113\./);
    // web-2 has no user data of its own, and gets none of web-1's, even through the link-local address.
    const get = async (vm: LabVm, url: string, from?: string) =>
      (await vm.exec(["curl", "-s", "-m", "3", "-w", " %{http_code}", ...(from ? ["--interface", from] : []), url]))
        .stdout;
    expect(await get(web2.vm, `http://${web2.nic.gateway}/latest/user-data`)).toMatch(/ 404$/);
    expect(await get(web2.vm, "http://169.254.169.254/latest/meta-data/local-ipv4")).toBe(`${web2.nic.ip} 200`);
    // Taking web-1's address does not help: the router drops a source address its MAC does not own.
    await web2.vm.run(["ip", "addr", "replace", `${web1.nic.ip}/24`, "dev", "eth0"]);
    try {
      expect(await get(web2.vm, `http://${web2.nic.gateway}/latest/user-data`, web1.nic.ip)).toBe(" 000");
    } finally {
      await web2.vm.run(["ip", "addr", "del", `${web1.nic.ip}/24`, "dev", "eth0"]);
    }
  });

  it("serves changed user data and hostname after PATCH, within a push", async () => {
    const web1 = vms["web-1"] as { vm: LabVm; nic: Nic };
    await call("PATCH", `/v1/networks/${net.A.id}/nics/${web1.nic.id}`, { userData: b64("#!/bin/sh\necho v2\n") });
    await waitFor("new user data", async () => {
      const r = await web1.vm.exec(["curl", "-s", "-m", "2", `http://${web1.nic.gateway}/latest/user-data`]);
      return r.stdout === "#!/bin/sh\necho v2\n" ? true : undefined;
    });
  });

  it("hands a newly plugged NIC its lease at once, an unknown MAC nothing, and takes the lease away on unplug", async () => {
    const t0 = Date.now();
    const { vm, nic } = await plugVm(hosts.xcp, "web-3", net.A);
    const answered = Date.now();
    const lease = await dhcpClient(lab, vm, "udhcpc");
    const leased = Date.now();
    expect(lease?.ip).toBe(nic.ip);
    // udhcpc asks once a second: the lease is there on its first or second try.
    expect(leased - answered, `plug took ${answered - t0} ms, lease ${leased - answered} ms later`).toBeLessThan(3000);

    // The same port with another MAC: a VM the controller does not know.
    await vm.run(["ip", "link", "set", "eth0", "address", "02:00:00:0b:ad:01"]);
    expect(await dhcpClient(lab, vm, "udhcpc")).toBeUndefined();
    await vm.run(["ip", "link", "set", "eth0", "address", vm.mac]);

    await call("DELETE", `/v1/networks/${net.A.id}/nics/${nic.id}`);
    await waitFor("lease removed", async () =>
      readFileSync(join(rt.stateDir, "guests", "dhcp-hosts"), "utf8").includes(vm.mac) ? undefined : true,
    );
    const web2 = vms["web-2"] as { vm: LabVm };
    // The unplugged VM's port is off the bridge; its MAC asks from web-2's port: nothing.
    const mac2 = web2.vm.mac;
    await web2.vm.run(["ip", "link", "set", "eth0", "address", vm.mac]);
    try {
      expect(await dhcpClient(lab, web2.vm, "udhcpc")).toBeUndefined();
    } finally {
      await web2.vm.run(["ip", "link", "set", "eth0", "address", mac2]);
    }
  });

  it("a failed apply leaves the previous DHCP and DNS configuration serving", async () => {
    const web1 = vms["web-1"] as { vm: LabVm; nic: Nic };
    const before = generation();
    // Break iptables inside the router only (its sshd's mount namespace): the next apply fails after dnsmasq took it.
    const broken = join(lab.dir, "broken-iptables");
    writeFileSync(broken, "#!/bin/sh\necho broken >&2\nexit 1\n", { mode: 0o755 });
    const sshd = readFileSync(join(rt.dir, "ssh", "sshd.pid"), "utf8").trim();
    await exec(["nsenter", "-t", sshd, "-m", "mount", "--bind", broken, "/usr/sbin/iptables-restore"]);
    try {
      await call("PATCH", `/v1/networks/${net.A.id}/nics/${web1.nic.id}`, { hostname: "renamed" });
      await waitFor("the push refused", async () => {
        const r = await call<Router>("GET", `/v1/routers/${router.id}`, undefined, api.adminToken);
        return r.state === "Failed" ? r : undefined;
      });
      expect(generation()).toBe(before);
      expect(await dig(web1.vm, "web-1.web.internal")).toBe(web1.nic.ip);
      expect(await dig(web1.vm, "renamed.web.internal")).toBe("");
      expect((await dhcpClient(lab, web1.vm, "udhcpc"))?.hostname).toBe("web-1");
    } finally {
      await exec(["nsenter", "-t", sshd, "-m", "umount", "/usr/sbin/iptables-restore"]);
    }
    await call("POST", `/v1/routers/${router.id}/sync`, {}, api.adminToken);
    expect(await dig(web1.vm, "renamed.web.internal")).toBe(web1.nic.ip);
  });
});
