import type { Router } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec, execQuiet, inNetns } from "../lab/index.js";
import { L3Lab, OUTSIDE_IP, STRANGER_IP } from "./l3-lab.js";
import { ping, probe, PROBE, ROUTER_PORT, serveProbe } from "./router-lab.js";
import type { RouterStack } from "./router-stack.js";

/*
 * Routers registered and NAT with real traffic (the lab: l3-lab.ts): rt1 over SSH with its
 * pinned host key, rt2 through its XenServer host's XAPI relay; source NAT, port
 * forwarding, static NAT, path MTU, the control port kept off the data path, routing
 * between two networks of a router, and a router forgotten. Firewall, egress, load
 * balancing and a router that refuses or is down: l3-rules.lab.test.ts.
 */

let l3: L3Lab;
let api: RouterStack;

beforeAll(async () => {
  l3 = await L3Lab.start();
  api = l3.api;
}, 180_000);

afterAll(async () => {
  await l3?.dispose();
});

describe("vr-manager: routers and NAT with real traffic", () => {
  it("registers a router over SSH with its pinned host key, and refuses a wrong key or a taken network", async () => {
    const wrong = await api.http(
      "POST",
      "/v1/routers",
      {
        ...l3.routerBody(l3.rt1, [l3.net.A.id], [{ networkId: l3.net.A.id, interface: "eth2", hostInterface: "vr1a" }]),
        hostKeyFingerprint: l3.kvm1.hostKeyFingerprint,
      },
      api.adminToken,
    );
    expect(wrong.statusCode, wrong.body).toBe(422);
    expect(wrong.json()).toMatchObject({ error: { details: { reason: "HOST_KEY_MISMATCH" } } });
    expect(await l3.routerNics(l3.net.A)).toEqual([]); // the NIC it plugged was unplugged again
    expect((await api.http("POST", "/v1/routers", l3.routerBody(l3.rt1, [l3.net.A.id], []))).statusCode).toBe(403);

    const router1 = await api.ok<Router>("POST", "/v1/routers", l3.rt1Body(), 201, api.adminToken);
    expect(router1).toMatchObject({ state: "Applied", generation: 1, appliedGeneration: 1, programVersion: "1.6.0" });
    // Its NICs were plugged by the ovs-element and hold the networks' gateway addresses.
    for (const [network, device] of [
      [l3.net.A, "vr1a"],
      [l3.net.B, "vr1b"],
    ] as const) {
      const [nic] = await l3.routerNics(network);
      expect(nic).toMatchObject({ ip: network.gateway, device, vmId: "vm-rt1", state: "Plugged" });
      expect(router1.nics.find((n) => n.networkId === network.id)?.nicId).toBe(nic?.id);
    }
    // Deployed over SFTP into the router's program folder; the router saved what it applied.
    expect(readFileSync(join(l3.rt1.programDir, "sdn-router"), "utf8")).toContain("sdn-router apply");
    expect(l3.rt1.savedState().generation).toBe(1);
    const listed = await api.ok<{ routers: Router[] }>("GET", "/v1/routers", undefined, 200, api.adminToken);
    expect(listed.routers.map((r) => r.name)).toEqual(["rt1"]);

    const taken = await api.http("POST", "/v1/routers", l3.routerBody(l3.rt1, [l3.net.A.id], []), api.adminToken);
    expect(taken.statusCode, taken.body).toBe(409);
    await waitFor("RouterRegistered", () => (api.eventsOf("RouterRegistered").length === 1 ? true : undefined));
  });

  it("registers a router reachable only from its XenServer host, through the host's XAPI relay", async () => {
    // The vr-manager's namespace cannot reach the router's link-local address itself.
    expect((await execQuiet(["python3", PROBE, "get", "169.254.0.2", "3922", "--timeout", "1"])).code).not.toBe(0);
    const r = await api.ok<Router>(
      "POST",
      "/v1/routers",
      {
        ...l3.routerBody(
          l3.rt2,
          [l3.net.C.id],
          [{ networkId: l3.net.C.id, interface: "eth2", hostInterface: l3.rt2Port.device }],
        ),
        vmId: l3.rt2Port.vmId,
        hostId: api.hostIds["xen"],
        transport: "host-relay",
      },
      201,
      api.adminToken,
    );
    expect(r).toMatchObject({ state: "Applied", transport: "host-relay", appliedGeneration: 1 });
    expect(l3.rt2.savedState().generation).toBe(1);
    // Every login came from the host's side of the link-local network.
    const log = readFileSync(join(l3.rt2.dir, "ssh", "sshd.log"), "utf8");
    expect(log).toMatch(/Accepted publickey for root from 169\.254\.0\.1/);
    expect(log).not.toMatch(/Accepted publickey for root from (?!169\.254\.0\.1)/);
  });

  it("source NAT: the outside sees each network's source NAT address", async () => {
    expect(await probe(l3.vm.A1.ns, OUTSIDE_IP, 80)).toBe(`outside ${l3.pip.A1.ip}`);
    expect(await probe(l3.vm.A2.ns, OUTSIDE_IP, 80)).toBe(`outside ${l3.pip.A1.ip}`); // across the GRE tunnel
    expect(await probe(l3.vm.B1.ns, OUTSIDE_IP, 80)).toBe(`outside ${l3.pip.B1.ip}`);
    expect(await probe(l3.vm.C1.ns, OUTSIDE_IP, 80)).toBe(`outside ${l3.pip.C1.ip}`); // the relayed router
    // Nothing from the outside reaches a VM by its private address or the router unasked.
    expect(await probe(l3.outside, l3.pip.A1.ip, 80, { timeoutS: 1 })).toBeUndefined();
  });

  it("port forwarding: public:8080 reaches the VM's port 80 once the firewall opens it; other ports do not", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    const pf = await l3.forward("web");
    expect(pf.apply.status).toBe("applied");
    // Ingress is denied until a firewall rule opens it.
    expect(await probe(l3.outside, l3.pip.A1.ip, 8080, { timeoutS: 1 })).toBeUndefined();
    await l3.openForwards();
    expect(await probe(l3.outside, l3.pip.A1.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);
    // Open in the firewall but not forwarded: nothing answers.
    expect(await probe(l3.outside, l3.pip.A1.ip, 8081, { timeoutS: 1 })).toBeUndefined();
    // Forwarded, but from a source outside the allowed CIDR.
    expect(await probe(l3.outside, l3.pip.A1.ip, 8080, { source: STRANGER_IP, timeoutS: 1 })).toBeUndefined();

    // A port range maps one to one (public 9000-9001 → private 7000-7001).
    await serveProbe(l3.vm.A2.ns, 7001, "vmA2-7001");
    await l3.forward("range");
    expect(await probe(l3.outside, l3.pip.A1.ip, 9001)).toBe(`vmA2-7001 ${OUTSIDE_IP}`);

    // Deleting the forward closes it again.
    await api.ok("DELETE", `${a}/port-forwards/${pf.id}`, undefined, 200);
    expect(await probe(l3.outside, l3.pip.A1.ip, 8080, { timeoutS: 1 })).toBeUndefined();
    await l3.forward("web");
    expect(await probe(l3.outside, l3.pip.A1.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);

    // The same through the relayed router.
    const c = `/v1/networks/${l3.net.C.id}`;
    await api.ok("POST", `${c}/port-forwards`, {
      publicIpId: l3.pip.C1.id,
      protocol: "tcp",
      publicStartPort: 8080,
      privateIp: l3.vm.C1.ip,
      privateStartPort: 80,
    });
    await api.ok("POST", `${c}/firewall-rules`, { publicIpId: l3.pip.C1.id, protocol: "tcp", startPort: 8080 });
    expect(await probe(l3.outside, l3.pip.C1.ip, 8080)).toBe(`vmC1 ${OUTSIDE_IP}`);
    expect(await probe(l3.outside, l3.pip.C1.ip, 8081, { timeoutS: 1 })).toBeUndefined();
  });

  it("static NAT: the VM is reached on its own public IP and leaves with it; the firewall still rules", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    await serveProbe(l3.vm.A2.ns, 81, "vmA2-81");
    await api.ok("POST", `${a}/static-nats`, { publicIpId: l3.pip.A2.id, privateIp: l3.vm.A2.ip });
    expect(await probe(l3.outside, l3.pip.A2.ip, 80, { timeoutS: 1 })).toBeUndefined();
    expect(await ping(l3.outside, l3.pip.A2.ip)).toBe(false);
    await api.ok("POST", `${a}/firewall-rules`, { publicIpId: l3.pip.A2.id, protocol: "tcp", startPort: 80 });
    await api.ok("POST", `${a}/firewall-rules`, { publicIpId: l3.pip.A2.id, protocol: "icmp", icmpType: 8 });
    expect(await probe(l3.outside, l3.pip.A2.ip, 80)).toBe(`vmA2 ${OUTSIDE_IP}`);
    expect(await ping(l3.outside, l3.pip.A2.ip)).toBe(true);
    expect(await probe(l3.outside, l3.pip.A2.ip, 81, { timeoutS: 1 })).toBeUndefined(); // not opened
    // Outbound, the VM leaves with its static NAT address, its neighbour with the source NAT one.
    expect(await probe(l3.vm.A2.ns, OUTSIDE_IP, 80)).toBe(`outside ${l3.pip.A2.ip}`);
    expect(await probe(l3.vm.A1.ns, OUTSIDE_IP, 80)).toBe(`outside ${l3.pip.A1.ip}`);
  });

  it("answers a DF packet too big for the guest network with frag-needed, never drops it silently", async () => {
    // The router's guest interfaces take the network's MTU (GRE overhead off the underlay's 1500).
    expect(await exec(["ip", "-n", l3.rt1.ns, "-o", "link", "show", "eth2"])).toContain("mtu 1450 ");
    // 1472 bytes of payload: a 1500-byte packet, from the internet to a VM on another host
    // than the router's (behind it: static NAT), which the GRE tunnel could not carry.
    const big = await execQuiet(
      inNetns(l3.outside, ["ping", "-M", "do", "-s", "1472", "-c", "2", "-i", "0.3", "-W", "2", l3.pip.A2.ip]),
    );
    const said = `${big.stdout}${big.stderr}`;
    expect(big.code === 0 || /Frag needed|mtu ?=? ?1450/.test(said), said).toBe(true);
    // What fits still goes through: 1450 bytes in all.
    expect(
      (await execQuiet(inNetns(l3.outside, ["ping", "-M", "do", "-s", "1422", "-c", "1", "-W", "2", l3.pip.A2.ip])))
        .code,
    ).toBe(0);
  });

  it("takes its control port (3922) on the control path only: not from the internet, not from guest networks", async () => {
    const reaches = async (ns: string, ip: string) =>
      (await probe(ns, ip, ROUTER_PORT, { timeoutS: 1 }))?.startsWith("SSH-") === true;
    // The internet: the public address, and the control address routed through the public interface
    // (Linux takes a packet for any of its addresses on any interface).
    await exec(["ip", "-n", l3.outside, "route", "replace", `${l3.rt1.controlAddress}/32`, "via", l3.pip.A1.ip]);
    expect(await reaches(l3.outside, l3.pip.A1.ip)).toBe(false);
    expect(await reaches(l3.outside, l3.rt1.controlAddress)).toBe(false);
    // A guest: the gateway address, and the control addresses through its default route (the router).
    expect(await reaches(l3.vm.A1.ns, l3.net.A.gateway)).toBe(false);
    expect(await reaches(l3.vm.A1.ns, l3.rt1.controlAddress)).toBe(false);
    expect(await reaches(l3.vm.C1.ns, l3.rt2.controlAddress)).toBe(false);
    // The control path still reaches it, and the vr-manager still applies rules through it.
    const fromManager = await execQuiet(["python3", PROBE, "get", l3.rt1.controlAddress, String(ROUTER_PORT)]);
    expect(fromManager.stdout).toMatch(/^SSH-/);
    const a = `/v1/networks/${l3.net.A.id}`;
    const rule = await api.ok<{ id: string; apply: { status: string } }>("POST", `${a}/firewall-rules`, {
      publicIpId: l3.pip.A1.id,
      protocol: "icmp",
    });
    expect(rule.apply.status).toBe("applied");
    expect(await ping(l3.outside, l3.pip.A1.ip)).toBe(true);
    await api.ok("DELETE", `${a}/firewall-rules/${rule.id}`, undefined, 200);
  });

  it("routing between two networks of a router: blocked by default, enabled, disabled", async () => {
    expect(await ping(l3.vm.A1.ns, l3.vm.B1.ip)).toBe(false);
    const route = await api.ok<{ id: string; networkIds: string[] }>(
      "POST",
      `/v1/networks/${l3.net.A.id}/inter-network-routes`,
      { peerNetworkId: l3.net.B.id },
    );
    expect([...route.networkIds].sort()).toEqual([l3.net.A.id, l3.net.B.id].sort());
    expect(await ping(l3.vm.A1.ns, l3.vm.B1.ip)).toBe(true);
    expect(await ping(l3.vm.B1.ns, l3.vm.A1.ip)).toBe(true);
    expect(await ping(l3.vm.A1.ns, l3.vm.C1.ip)).toBe(false); // another router's network
    const listed = await api.ok<{ interNetworkRoutes: { id: string }[] }>(
      "GET",
      `/v1/networks/${l3.net.B.id}/inter-network-routes`,
      undefined,
      200,
    );
    expect(listed.interNetworkRoutes.map((r) => r.id)).toEqual([route.id]);
    // Networks of two routers cannot be routed with each other.
    const apart = await api.http("POST", `/v1/networks/${l3.net.A.id}/inter-network-routes`, {
      peerNetworkId: l3.net.C.id,
    });
    expect(apart.statusCode, apart.body).toBe(422);
    await api.ok("DELETE", `/v1/networks/${l3.net.A.id}/inter-network-routes/${route.id}`, undefined, 200);
    expect(await ping(l3.vm.A1.ns, l3.vm.B1.ip)).toBe(false);
  });

  it("forgets a router; its network's rules stay stored for the next one", async () => {
    const routers = (await api.ok<{ routers: Router[] }>("GET", "/v1/routers", undefined, 200, api.adminToken)).routers;
    const r2 = routers.find((r) => r.name === "rt2") as Router;
    expect(await l3.routerNics(l3.net.C)).toHaveLength(1);
    await api.ok("DELETE", `/v1/routers/${r2.id}`, undefined, 204, api.adminToken);
    expect(await l3.routerNics(l3.net.C)).toEqual([]);
    const rule = await api.ok<{ apply: { status: string } }>("POST", `/v1/networks/${l3.net.C.id}/firewall-rules`, {
      publicIpId: l3.pip.C1.id,
      protocol: "icmp",
    });
    expect(rule.apply.status).toBe("no-router");
    const listed = await api.ok<{ firewallRules: unknown[] }>(
      "GET",
      `/v1/networks/${l3.net.C.id}/firewall-rules`,
      undefined,
      200,
    );
    expect(listed.firewallRules).toHaveLength(2);
    expect(api.eventsOf("RulesApplied").length).toBeGreaterThan(10);
  });
});
