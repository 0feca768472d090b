import { expect, it } from "vitest";
import type { ApiResponse } from "../api.js";
import { tenantOf, type Scenario } from "../scenario.js";
import type { ContainerSystem } from "../system.js";

/** The public addresses tenants acquire here; `PUBLIC_GATEWAY` is upstream, outside the handed-out range. */
export const PUBLIC_CIDR = "203.0.113.0/24";
export const PUBLIC_GATEWAY = "203.0.113.1";
/** acme/web's VMs (10.20.0.0/24, gateway .1): the port forward's target and the load balancer's members. */
export const WEB_VM = "10.20.0.10";
/** The acme/web VM a second public IP is given to 1:1 (static NAT). */
export const STATIC_NAT_VM = "10.20.0.11";
/** Public ports of acme/web's rules. */
export const FORWARDED_PORT = 8080;
export const BALANCED_PORT = 80;
/** With egress default deny, tcp to this port of the public subnet still leaves acme/web (an egress rule). */
export const EGRESS_EXCEPTION_PORT = 8443;

/** What the rules step created, for the traffic step. */
interface RulesMade {
  /** acme/web's source NAT address and the one given 1:1 to a VM. */
  sourceNatIp: { id: string; ip: string };
  staticNatIp: { id: string; ip: string };
}

export const networkId = (scenario: Scenario, key: string): string => {
  const entry = scenario.networks.get(key);
  if (entry === undefined) throw new Error(`no network ${key}: the networks step did not run`);
  return String(entry.network["id"]);
};

/** A refused request: a client error with a code and a message that names the cause. */
const expectRefused = (res: ApiResponse, status: number, reason: RegExp): void => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const error = res.body["error"] as { code: string; message: string };
  expect(error.code).toMatch(/^[A-Z_]+$/);
  expect(error.message).toMatch(reason);
};

/**
 * L3 rules of a tenant's network over HTTP: public addresses, then one rule of every kind,
 * listed back, bad input refused with a reason, hidden from another tenant. No router
 * serves the network yet, so every change is stored for one ("no-router").
 */
export const ruleSteps = (system: () => ContainerSystem, scenario: Scenario): void => {
  const made: Partial<RulesMade> = {};
  const acme = () => tenantOf(scenario, "acme");
  const web = () => `/v1/networks/${networkId(scenario, "acme/web")}`;
  const asAcme = (method: string, path: string, body?: unknown) =>
    system().api(method, path, { token: acme().token, ...(body === undefined ? {} : { body }) });
  const created = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await asAcme("POST", path, body);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(201);
    expect(res.body["apply"], path).toEqual({ status: "no-router" });
    return res.body;
  };

  it("defines a public IP range (admin) and acquires two addresses for a network, the first its source NAT", async () => {
    const range = await system().api("POST", "/v1/public-ip-ranges", {
      body: {
        name: "edge",
        cidr: PUBLIC_CIDR,
        gateway: PUBLIC_GATEWAY,
        startIp: "203.0.113.10",
        endIp: "203.0.113.20",
      },
    });
    expect(range.status, JSON.stringify(range.body)).toBe(201);
    expect(range.body).toMatchObject({ cidr: PUBLIC_CIDR, size: 11 });
    const ips: { id: string; ip: string; isSourceNat: boolean }[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await asAcme("POST", "/v1/public-ips", { networkId: networkId(scenario, "acme/web") });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ips.push(res.body as (typeof ips)[number]);
    }
    expect(ips.map((p) => p.isSourceNat)).toEqual([true, false]);
    for (const p of ips) expect(p.ip).toMatch(/^203\.0\.113\.(1\d|20)$/);
    made.sourceNatIp = { id: ips[0]!.id, ip: ips[0]!.ip };
    made.staticNatIp = { id: ips[1]!.id, ip: ips[1]!.ip };
    const listed = await asAcme("GET", `/v1/public-ips?networkId=${networkId(scenario, "acme/web")}`);
    expect((listed.body["publicIps"] as { id: string }[]).map((p) => p.id).sort()).toEqual(ips.map((p) => p.id).sort());
  });

  it("creates one rule of every kind, stored for the router to come (no-router), and lists them", async () => {
    const pip = made.sourceNatIp!.id;
    const rules: [string, unknown][] = [
      [
        "port-forwards",
        { publicIpId: pip, protocol: "tcp", publicStartPort: FORWARDED_PORT, privateIp: WEB_VM, privateStartPort: 80 },
      ],
      ["static-nats", { publicIpId: made.staticNatIp!.id, privateIp: STATIC_NAT_VM }],
      ["firewall-rules", { publicIpId: pip, protocol: "tcp", startPort: FORWARDED_PORT }],
      ["firewall-rules", { publicIpId: pip, protocol: "tcp", startPort: BALANCED_PORT }],
      ["egress-rules", { protocol: "tcp", startPort: EGRESS_EXCEPTION_PORT, destinationCidrs: [PUBLIC_CIDR] }],
      [
        "load-balancers",
        {
          name: "web",
          publicIpId: pip,
          publicPort: BALANCED_PORT,
          privatePort: 80,
          algorithm: "roundrobin",
          members: [WEB_VM],
        },
      ],
    ];
    const ids: Record<string, string[]> = {};
    for (const [kind, body] of rules) {
      const rule = await created(`${web()}/${kind}`, body);
      expect(rule).toMatchObject({
        ...(body as object),
        networkId: networkId(scenario, "acme/web"),
        accountId: acme().accountId,
      });
      (ids[kind] ??= []).push(String(rule["id"]));
    }
    const lists: Record<string, string> = {
      "port-forwards": "portForwards",
      "static-nats": "staticNats",
      "firewall-rules": "firewallRules",
      "egress-rules": "egressRules",
      "load-balancers": "loadBalancers",
    };
    for (const [kind, key] of Object.entries(lists)) {
      const path = `${web()}/${kind}`;
      const res = await asAcme("GET", path);
      expect(res.status, path).toBe(200);
      expect(
        (res.body[key] as { id: string }[]).map((r) => r.id),
        kind,
      ).toEqual(ids[kind]);
      scenario.rules.set(path, { token: acme().token, body: res.body });
    }
    const fw = (await asAcme("GET", `${web()}/firewall-rules`)).body["firewallRules"] as Record<string, unknown>[];
    // Defaults filled in: one port means start = end, no sources means everyone.
    expect(fw[0]).toMatchObject({ startPort: FORWARDED_PORT, endPort: FORWARDED_PORT, sourceCidrs: ["0.0.0.0/0"] });
  });

  it("sets the network's egress default policy (allow until set)", async () => {
    const path = `${web()}/egress-policy`;
    expect((await asAcme("GET", path)).body).toEqual({
      networkId: networkId(scenario, "acme/web"),
      defaultPolicy: "allow",
    });
    const set = await asAcme("PUT", path, { defaultPolicy: "deny" });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ defaultPolicy: "deny", apply: { status: "no-router" } });
    const read = await asAcme("GET", path);
    expect(read.body).toEqual({ networkId: networkId(scenario, "acme/web"), defaultPolicy: "deny" });
    scenario.rules.set(path, { token: acme().token, body: read.body });
  });

  it("refuses routing between two networks no router serves (422), and lists none", async () => {
    const db = networkId(scenario, "acme/db");
    const res = await asAcme("POST", `${web()}/inter-network-routes`, { peerNetworkId: db });
    expectRefused(res, 422, /not served by one router/);
    expectRefused(
      await asAcme("POST", `${web()}/inter-network-routes`, { peerNetworkId: networkId(scenario, "acme/web") }),
      422,
      /not routed with itself/,
    );
    const listed = await asAcme("GET", `${web()}/inter-network-routes`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ interNetworkRoutes: [] });
  });

  it("refuses a bad rule of every kind with a reason (4xx)", async () => {
    const pip = made.sourceNatIp!.id;
    const bad: [string, unknown, number, RegExp][] = [
      [
        "port-forwards",
        { publicIpId: pip, protocol: "tcp", publicStartPort: 9000, privateIp: "10.99.0.5", privateStartPort: 80 },
        422,
        /not a guest address/,
      ],
      [
        "port-forwards",
        { publicIpId: pip, protocol: "tcp", publicStartPort: FORWARDED_PORT, privateIp: WEB_VM, privateStartPort: 81 },
        409,
        /forwarded already/,
      ],
      ["static-nats", { publicIpId: pip, privateIp: WEB_VM }, 422, /source NAT address/],
      ["firewall-rules", { publicIpId: pip, protocol: "icmp", startPort: 22 }, 422, /ports go with tcp or udp/],
      ["egress-rules", { protocol: "tcp", startPort: 443, endPort: 80 }, 422, /below startPort/],
      [
        "load-balancers",
        { publicIpId: pip, publicPort: 81, privatePort: 80, algorithm: "roundrobin", members: [] },
        400,
        /members/,
      ],
    ];
    for (const [kind, body, status, reason] of bad)
      expectRefused(await asAcme("POST", `${web()}/${kind}`, body), status, reason);
    expectRefused(await asAcme("PUT", `${web()}/egress-policy`, { defaultPolicy: "maybe" }), 400, /defaultPolicy/);
    expectRefused(
      await system().api("POST", "/v1/public-ip-ranges", {
        body: { cidr: "198.51.100.0/24", gateway: "198.51.100.15", startIp: "198.51.100.10", endIp: "198.51.100.20" },
      }),
      422,
      /would be handed out/,
    );
  });

  it("answers another tenant's rules as not found (404) and changes nothing", async () => {
    const { token } = tenantOf(scenario, "globex");
    const asGlobex = (method: string, path: string, body?: unknown) =>
      system().api(method, path, { token, ...(body === undefined ? {} : { body }) });
    const pf = (scenario.rules.get(`${web()}/port-forwards`)!.body["portForwards"] as { id: string }[])[0]!;
    const tries: [string, string, unknown?][] = [
      ["GET", `${web()}/port-forwards`],
      ["POST", `${web()}/firewall-rules`, { publicIpId: made.sourceNatIp!.id, protocol: "tcp", startPort: 22 }],
      ["DELETE", `${web()}/port-forwards/${pf.id}`],
      ["PUT", `${web()}/egress-policy`, { defaultPolicy: "allow" }],
      ["GET", `${web()}/inter-network-routes`],
      ["POST", "/v1/public-ips", { networkId: networkId(scenario, "acme/web") }],
    ];
    for (const [method, path, body] of tries) {
      expect((await asGlobex(method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    for (const [path, { token: owner, body }] of scenario.rules) {
      expect((await system().api("GET", path, { token: owner })).body, path).toEqual(body);
    }
  });
};
