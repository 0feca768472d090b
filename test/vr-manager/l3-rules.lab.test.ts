import type { Router } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../lab/index.js";
import { L3Lab, OUTSIDE_IP, STRANGER_IP } from "./l3-lab.js";
import { HeldConnection, ping, probe, serveEcho, serveProbe } from "./router-lab.js";
import type { RouterStack } from "./router-stack.js";

/*
 * Rules on a router with real traffic (the lab: l3-lab.ts): firewall, egress, revoked
 * rules cutting connections, load balancing, a change the router refuses, a router that
 * was down, and rules checked and kept per tenant. rt1 serves networks A and B, registered
 * here before the tests with the port forwards they lean on (registration itself, NAT and
 * the relay: l3-nat.lab.test.ts).
 */

let l3: L3Lab;
let api: RouterStack;
let router1: Router;

beforeAll(async () => {
  l3 = await L3Lab.start();
  api = l3.api;
  router1 = await api.ok<Router>("POST", "/v1/routers", l3.rt1Body(), 201, api.adminToken);
  // The forwards and the firewall rule the tests lean on (l3-nat.lab.test.ts tries them out).
  await l3.forward("web");
  await l3.forward("range");
  await l3.openForwards();
}, 180_000);

afterAll(async () => {
  await l3?.dispose();
});

describe("vr-manager: rules on a router with real traffic", () => {
  it("firewall: ICMP per rule, opened and closed again", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    expect(await ping(l3.outside, l3.pip.A1.ip)).toBe(false);
    const rule = await api.ok<{ id: string }>("POST", `${a}/firewall-rules`, {
      publicIpId: l3.pip.A1.id,
      protocol: "icmp",
      icmpType: 8,
      icmpCode: 0,
      sourceCidrs: ["203.0.113.0/25"],
    });
    expect(await ping(l3.outside, l3.pip.A1.ip)).toBe(true);
    const stranger = await exec([
      "ip",
      "netns",
      "exec",
      l3.outside,
      "ping",
      "-c",
      "1",
      "-W",
      "1",
      "-I",
      STRANGER_IP,
      l3.pip.A1.ip,
    ]).catch(() => "blocked");
    expect(stranger).toBe("blocked");
    await api.ok("DELETE", `${a}/firewall-rules/${rule.id}`, undefined, 200);
    expect(await ping(l3.outside, l3.pip.A1.ip)).toBe(false);
  });

  it("egress: default deny blocks what no rule allows", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    expect(await probe(l3.vm.A1.ns, OUTSIDE_IP, 8088)).toBe(`outside-8088 ${l3.pip.A1.ip}`);
    await api.ok("PUT", `${a}/egress-policy`, { defaultPolicy: "deny" }, 200);
    expect(await probe(l3.vm.A1.ns, OUTSIDE_IP, 80, { timeoutS: 1 })).toBeUndefined();
    const allow = await api.ok<{ id: string }>("POST", `${a}/egress-rules`, {
      protocol: "tcp",
      startPort: 80,
      destinationCidrs: ["203.0.113.0/24"],
    });
    expect(await probe(l3.vm.A1.ns, OUTSIDE_IP, 80)).toBe(`outside ${l3.pip.A1.ip}`);
    expect(await probe(l3.vm.A1.ns, OUTSIDE_IP, 8088, { timeoutS: 1 })).toBeUndefined();
    expect(await ping(l3.vm.A1.ns, OUTSIDE_IP)).toBe(false);
    // Network B keeps its own default (allow).
    expect(await probe(l3.vm.B1.ns, OUTSIDE_IP, 8088)).toBe(`outside-8088 ${l3.pip.B1.ip}`);
    expect(await api.ok("GET", `${a}/egress-policy`, undefined, 200)).toMatchObject({ defaultPolicy: "deny" });
    await api.ok("DELETE", `${a}/egress-rules/${allow.id}`, undefined, 200);
    await api.ok("PUT", `${a}/egress-policy`, { defaultPolicy: "allow" }, 200);
    expect(await probe(l3.vm.A1.ns, OUTSIDE_IP, 8088)).toBe(`outside-8088 ${l3.pip.A1.ip}`);
  });

  it("a revoked rule cuts the connections it let through; open ones still allowed go on", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    // A cut connection the new rules still allow is picked up mid-stream: the kernel's default.
    expect((await l3.rt1.exec(["sysctl", "-n", "net.netfilter.nf_conntrack_tcp_loose"])).stdout.trim()).toBe("1");
    await serveEcho(l3.vm.A1.ns, 5000);
    await serveEcho(l3.vm.A2.ns, 7000);
    const pf = await api.ok<{ id: string }>("POST", `${a}/port-forwards`, {
      publicIpId: l3.pip.A1.id,
      protocol: "tcp",
      publicStartPort: 8070,
      privateIp: l3.vm.A1.ip,
      privateStartPort: 5000,
    });
    // Two connections to the same public IP: one through the forward about to go, one through 9000 → vmA2:7000.
    const revoked = await HeldConnection.open(l3.lab, l3.outside, l3.pip.A1.ip, 8070);
    const kept = await HeldConnection.open(l3.lab, l3.outside, l3.pip.A1.ip, 9000);
    expect(await revoked.say("one")).toBe("ok one");
    expect(await kept.say("one")).toBe("ok one");
    await api.ok("DELETE", `${a}/port-forwards/${pf.id}`, undefined, 200);
    expect(await revoked.say("two")).toMatch(/^dead /);
    await expect(HeldConnection.open(l3.lab, l3.outside, l3.pip.A1.ip, 8070, 1)).rejects.toThrow(/no connection/);
    expect(await kept.say("two")).toBe("ok two");

    // Egress: network A's open connection out dies with the policy turned to deny; network B's goes on.
    await serveEcho(l3.outside, 7777);
    const outbound = await HeldConnection.open(l3.lab, l3.vm.A1.ns, OUTSIDE_IP, 7777);
    const otherNetwork = await HeldConnection.open(l3.lab, l3.vm.B1.ns, OUTSIDE_IP, 7777);
    expect(await outbound.say("one")).toBe("ok one");
    expect(await otherNetwork.say("one")).toBe("ok one");
    await api.ok("PUT", `${a}/egress-policy`, { defaultPolicy: "deny" }, 200);
    expect(await outbound.say("two")).toMatch(/^dead /);
    expect(await otherNetwork.say("two")).toBe("ok two");
    await api.ok("PUT", `${a}/egress-policy`, { defaultPolicy: "allow" }, 200);
    expect(await kept.say("three")).toBe("ok three");
  });

  it("load balancing: requests spread over two VMs, and a dead member stops receiving", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    await serveProbe(l3.vm.A1.ns, 8000, "vmA1-lb");
    const dying = await serveProbe(l3.vm.A2.ns, 8000, "vmA2-lb");
    await api.ok("POST", `${a}/load-balancers`, {
      name: "web",
      publicIpId: l3.pip.A1.id,
      publicPort: 80,
      privatePort: 8000,
      algorithm: "roundrobin",
      members: [l3.vm.A1.ip, l3.vm.A2.ip],
      healthCheck: { intervalMs: 200, fall: 2, rise: 1 },
    });
    await api.ok("POST", `${a}/firewall-rules`, { publicIpId: l3.pip.A1.id, protocol: "tcp", startPort: 80 });
    const count = async (n: number) => {
      const seen: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const answer = (await probe(l3.outside, l3.pip.A1.ip, 80)) ?? "none";
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

  it("a change the router refuses is undone, and the old rules keep working", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    const before = await l3.rt1.iptables();
    const generation = l3.rt1.savedState().generation;
    expect(await probe(l3.outside, l3.pip.A1.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);
    // Something else on the router holds the port: haproxy cannot bind it.
    await serveProbe(l3.rt1.ns, 443, "squatter");
    const refused = await api.http("POST", `${a}/load-balancers`, {
      publicIpId: l3.pip.A1.id,
      publicPort: 443,
      privatePort: 8000,
      algorithm: "leastconn",
      members: [l3.vm.A1.ip],
    });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json()).toMatchObject({
      error: { details: { reason: "ROUTER_REFUSED", routerCode: "HAPROXY_RELOAD_FAILED", routerId: router1.id } },
    });
    expect(await l3.rt1.iptables()).toBe(before);
    expect(l3.rt1.savedState().generation).toBe(generation);
    expect(await probe(l3.outside, l3.pip.A1.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);
    expect((await probe(l3.outside, l3.pip.A1.ip, 80))?.startsWith("vmA1-lb")).toBe(true);
    const lbs = await api.ok<{ loadBalancers: { publicPort: number }[] }>("GET", `${a}/load-balancers`, undefined, 200);
    expect(lbs.loadBalancers.map((l) => l.publicPort)).toEqual([80]);
    expect(api.eventsOf("RulesFailed").some((e) => e.data["code"] === "HAPROXY_RELOAD_FAILED")).toBe(true);
    // The router still runs the generation before; the record says so (and, once the periodic
    // check has compared it with the reverted desired configuration, that it is Applied).
    const r = await api.ok<Router>("GET", `/v1/routers/${router1.id}`, undefined, 200, api.adminToken);
    expect(r.appliedGeneration).toBe(generation);
    expect(r.generation).toBeGreaterThan(generation);
    // The periodic check sees that the router runs the (reverted) desired configuration.
    await waitFor("router Applied again", async () => {
      const now = await api.ok<Router>("GET", `/v1/routers/${router1.id}`, undefined, 200, api.adminToken);
      return now.state === "Applied" || undefined;
    });
  });

  it("a router that was down gets the current configuration when it is back", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    await l3.rt1.stopSshd();
    const rule = await api.ok<{ apply: { status: string; message?: string } }>("POST", `${a}/firewall-rules`, {
      publicIpId: l3.pip.A1.id,
      protocol: "icmp",
    });
    expect(rule.apply.status).toBe("pending");
    // The tenant learns that the router is away, not where its control address is.
    expect(rule.apply.message).toContain("unreachable");
    expect(rule.apply.message).not.toContain(l3.rt1.controlAddress);
    expect(await ping(l3.outside, l3.pip.A1.ip)).toBe(false);
    expect(await api.ok<Router>("GET", `/v1/routers/${router1.id}`, undefined, 200, api.adminToken)).toMatchObject({
      state: "Unreachable",
    });
    await l3.rt1.startSshd([]);
    await waitFor(
      "the router back and configured",
      async () => ((await ping(l3.outside, l3.pip.A1.ip, 1)) ? true : undefined),
      15_000,
    );
    // The router runs the rules a moment before the vr-manager has recorded its answer.
    const r = await waitFor(
      "the router recorded as Applied",
      async () => {
        const got = await api.ok<Router>("GET", `/v1/routers/${router1.id}`, undefined, 200, api.adminToken);
        return got.state === "Applied" ? got : undefined;
      },
      10_000,
    );
    expect(l3.rt1.savedState().generation).toBe(r.appliedGeneration);
  });

  it("checks rules and keeps tenants apart", async () => {
    const a = `/v1/networks/${l3.net.A.id}`;
    const bad = async (path: string, body: object, status: number) => {
      const res = await api.http("POST", `${a}/${path}`, body);
      expect(res.statusCode, res.body).toBe(status);
    };
    await bad(
      "port-forwards",
      { publicIpId: l3.pip.A1.id, protocol: "tcp", publicStartPort: 7000, privateIp: "10.9.0.5", privateStartPort: 80 },
      422,
    );
    await bad(
      "port-forwards",
      {
        publicIpId: l3.pip.B1.id,
        protocol: "tcp",
        publicStartPort: 7000,
        privateIp: l3.vm.A1.ip,
        privateStartPort: 80,
      },
      422,
    );
    await bad(
      "port-forwards",
      {
        publicIpId: l3.pip.A1.id,
        protocol: "tcp",
        publicStartPort: 8080,
        privateIp: l3.vm.A2.ip,
        privateStartPort: 80,
      },
      409,
    );
    await bad(
      "port-forwards",
      {
        publicIpId: l3.pip.A1.id,
        protocol: "tcp",
        publicStartPort: 7000,
        publicEndPort: 7005,
        privateIp: l3.vm.A1.ip,
        privateStartPort: 80,
      },
      422,
    );
    await bad("static-nats", { publicIpId: l3.pip.A1.id, privateIp: l3.vm.A1.ip }, 422);
    await bad("firewall-rules", { publicIpId: l3.pip.A1.id, protocol: "icmp", startPort: 22 }, 422);
    await bad("egress-rules", { protocol: "tcp", startPort: 22, destinationCidrs: ["10.0.0.1/8"] }, 422);
    await bad(
      "load-balancers",
      { publicIpId: l3.pip.A1.id, publicPort: 8080, privatePort: 80, algorithm: "source", members: [l3.vm.A1.ip] },
      409,
    );
    await bad(
      "port-forwards",
      { publicIpId: l3.pip.A1.id, protocol: "sctp", publicStartPort: 1, privateIp: l3.vm.A1.ip, privateStartPort: 1 },
      400,
    );
    // Another tenant sees nothing of network A.
    expect((await api.http("GET", `${a}/port-forwards`, undefined, l3.outsider.token)).statusCode).toBe(404);
    expect((await api.http("POST", `${a}/egress-rules`, { protocol: "all" }, l3.outsider.token)).statusCode).toBe(404);
    expect((await api.http("GET", "/v1/routers", undefined, l3.outsider.token)).statusCode).toBe(403);
    const mine = await api.ok<{ portForwards: { privateIp: string }[] }>("GET", `${a}/port-forwards`, undefined, 200);
    expect(mine.portForwards).toHaveLength(2);
  });
});
