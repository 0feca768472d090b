/**
 * sdnctl's router and L3 rule commands against the real gateway, network-guru and
 * vr-manager, with no router registered: every rule is stored and answered `no-router`.
 * A router that cannot be reached is refused with its reason. Pushing to a real router is
 * test/sdnctl/routers.lab.test.ts.
 */
import { apiGatewaySpec } from "@sdn/api-gateway";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { freePort, TestNatsServer } from "@sdn/testkit";
import { ServiceStack } from "@sdn/testkit/stack";
import { vrManagerSpec } from "@sdn/vr-manager";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREATE_PUBLIC_IP_RANGE, sdnctl } from "./cli-runner.js";

let nats: TestNatsServer;
let dir: string;
let baseUrl: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
let token: string;
let network: { id: string };
let sourceNatIp: { id: string; ip: string };
let secondIp: { id: string; ip: string };

const stack = new ServiceStack(() => ({ NATS_URL: nats.url }));

const env = (t = adminToken) => ({ SDN_URL: baseUrl, SDN_TOKEN: t, HOME: "/nonexistent" });
const field = (stdout: string, name: string) => new RegExp(`^${name} +(.+)$`, "m").exec(stdout)?.[1];
const json = <T = Record<string, unknown>>(stdout: string) => JSON.parse(stdout) as T;
const api = async (path: string, t: string) =>
  (await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${t}` } })).json();

/** Runs sdnctl as `t` and expects exit 0. */
const ok = async (args: string[], t = token) => {
  const res = await sdnctl(args, { env: env(t) });
  expect(res.code, `sdnctl ${args.join(" ")}: ${res.stderr}`).toBe(0);
  return res;
};

const tenant = async (name: string) =>
  json<{ token: { token: string } }>((await ok(["accounts", "create", name, "--json"], adminToken)).stdout).token.token;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sdnctl-l3-"));
  nats = await TestNatsServer.start();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  await stack.start(apiGatewaySpec, { SDN_HTTP_PORT: String(port), SDN_ADMIN_TOKEN: adminToken });
  await stack.start(networkGuruSpec);
  await stack.start(ovsElementSpec); // a router's configuration includes its networks' guest NICs
  await stack.start(vrManagerSpec, {
    SDN_DATA_DIR: dir,
    SDN_SECRET_KEY: randomBytes(32).toString("base64"),
    SDN_VR_CONNECT_TIMEOUT_MS: "2000",
  });
  await ok(CREATE_PUBLIC_IP_RANGE, adminToken);
  token = await tenant("l3-tenant");
  network = json((await ok(["networks", "create", "web", "--cidr", "10.20.0.0/24", "--json"])).stdout);
  const acquire = async () =>
    json<{ id: string; ip: string }>((await ok(["public-ips", "acquire", "--network", network.id, "--json"])).stdout);
  sourceNatIp = await acquire();
  secondIp = await acquire();
});

afterAll(async () => {
  await stack.stop();
  await nats?.dispose();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface RuleKindCase {
  group: string;
  listKey: string;
  args: () => string[];
  /** Record lines of the created rule. */
  fields: () => Record<string, string>;
  header: RegExp;
}

const KINDS: RuleKindCase[] = [
  {
    group: "port-forwards",
    listKey: "portForwards",
    args: () =>
      ["--public-ip", sourceNatIp.id, "--protocol", "tcp", "--public-port", "8080-8081"].concat([
        "--private-ip",
        "10.20.0.17",
        "--private-port",
        "80-81",
      ]),
    fields: () => ({
      "public ip": `${sourceNatIp.ip} (${sourceNatIp.id})`,
      protocol: "tcp",
      "public ports": "8080-8081",
      "private ip": "10.20.0.17",
      "private ports": "80-81",
    }),
    header: /^ID +PUBLIC IP +PROTOCOL +PUBLIC PORTS +PRIVATE IP +PRIVATE PORTS$/,
  },
  {
    group: "static-nats",
    listKey: "staticNats",
    args: () => ["--public-ip", secondIp.id, "--private-ip", "10.20.0.18"],
    fields: () => ({ "public ip": `${secondIp.ip} (${secondIp.id})`, "private ip": "10.20.0.18" }),
    header: /^ID +PUBLIC IP +PRIVATE IP +CREATED$/,
  },
  {
    group: "firewall-rules",
    listKey: "firewallRules",
    args: () =>
      ["--public-ip", sourceNatIp.id, "--protocol", "tcp", "--ports", "8080-8081"].concat([
        "--source-cidrs",
        "198.51.100.0/24,192.0.2.0/24",
      ]),
    fields: () => ({ traffic: "tcp 8080-8081", sources: "198.51.100.0/24, 192.0.2.0/24" }),
    header: /^ID +PUBLIC IP +TRAFFIC +SOURCES$/,
  },
  {
    group: "egress-rules",
    listKey: "egressRules",
    // -1 right after the option is its value, not an option.
    args: () => ["--protocol", "icmp", "--icmp-type", "8", "--icmp-code", "-1"],
    fields: () => ({ traffic: "icmp type 8 code -1", destinations: "0.0.0.0/0" }),
    header: /^ID +TRAFFIC +DESTINATIONS +CREATED$/,
  },
  {
    group: "load-balancers",
    listKey: "loadBalancers",
    args: () =>
      ["--name", "web", "--public-ip", sourceNatIp.id, "--public-port", "80", "--private-port", "8080"].concat([
        "--member",
        "10.20.0.17",
        "--member",
        "10.20.0.18",
        "--check-interval-ms",
        "500",
      ]),
    fields: () => ({
      name: "web",
      public: `${sourceNatIp.ip}:80 (${sourceNatIp.id})`,
      algorithm: "roundrobin",
      members: "10.20.0.17:8080, 10.20.0.18:8080",
      "health check": "every 500 ms, fall 2, rise 2",
    }),
    header: /^ID +NAME +PUBLIC +ALGORITHM +MEMBERS$/,
  },
];

describe("L3 rules without a router", () => {
  it.each(KINDS)("$group: create (table), list (table and --json), delete (--json); apply no-router", async (kind) => {
    const created = await ok([kind.group, "create", network.id, ...kind.args()]);
    const id = field(created.stdout, "id") ?? "";
    expect(id).toMatch(/^[a-z]{2,4}-[0-9a-f]{16}$/);
    expect(field(created.stdout, "network")).toBe(network.id);
    for (const [name, value] of Object.entries(kind.fields())) expect(field(created.stdout, name), name).toBe(value);
    expect(field(created.stdout, "apply")).toBe("no-router");

    const [header, ...rows] = (await ok([kind.group, "list", network.id])).stdout.trimEnd().split("\n");
    expect(header).toMatch(kind.header);
    expect(rows).toEqual([expect.stringMatching(new RegExp(`^${id} `))]);
    const listed = json((await ok([kind.group, "list", network.id, "--json"])).stdout);
    expect(listed).toEqual(await api(`/v1/networks/${network.id}/${kind.group}`, token));
    expect(listed[kind.listKey]).toEqual([expect.objectContaining({ id, networkId: network.id })]);

    const deleted = await ok([kind.group, "delete", network.id, id, "--json"]);
    expect(json(deleted.stdout)).toEqual({ id, deleted: true, apply: { status: "no-router" } });
    expect((await ok([kind.group, "list", network.id])).stdout.trimEnd().split("\n")).toHaveLength(1);
  });

  it("create --json prints the API's rule with its apply outcome; delete as a table", async () => {
    const res = await ok(
      ["port-forwards", "create", network.id, "--public-ip", sourceNatIp.id, "--protocol", "udp"].concat([
        "--public-port",
        "5000",
        "--private-ip",
        "10.20.0.17",
        "--private-port",
        "6000",
        "--json",
      ]),
    );
    const rule = json<{ id: string }>(res.stdout);
    expect(rule).toMatchObject({
      protocol: "udp",
      publicIp: sourceNatIp.ip,
      publicStartPort: 5000,
      publicEndPort: 5000,
      privateStartPort: 6000,
      privateEndPort: 6000,
      apply: { status: "no-router" },
    });
    const deleted = await ok(["port-forwards", "delete", network.id, rule.id]);
    expect(field(deleted.stdout, "deleted")).toBe(rule.id);
    expect(field(deleted.stdout, "apply")).toBe("no-router");
  });

  it("egress-policy: allow until set, set deny (no-router), a bad policy is a usage error", async () => {
    expect(field((await ok(["egress-policy", "get", network.id])).stdout, "default policy")).toBe("allow");
    const set = await ok(["egress-policy", "set", network.id, "deny"]);
    expect(field(set.stdout, "default policy")).toBe("deny");
    expect(field(set.stdout, "apply")).toBe("no-router");
    expect(json((await ok(["egress-policy", "get", network.id, "--json"])).stdout)).toEqual({
      networkId: network.id,
      defaultPolicy: "deny",
    });
    const bad = await sdnctl(["egress-policy", "set", network.id, "maybe"], { env: env(token) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("value 'maybe' is invalid for argument 'policy'. Allowed choices are allow, deny.");
    await ok(["egress-policy", "set", network.id, "allow", "--json"]);
  });

  it("inter-network-routes: none listed; enabling them needs one router serving both (422)", async () => {
    const peer = json<{ id: string }>(
      (await ok(["networks", "create", "db", "--cidr", "10.21.0.0/24", "--json"])).stdout,
    );
    const list = await ok(["inter-network-routes", "list", network.id]);
    expect(list.stdout).toMatch(/^ID +NETWORKS +ROUTER +CREATED\n$/);
    expect(json((await ok(["inter-network-routes", "list", network.id, "--json"])).stdout)).toEqual({
      interNetworkRoutes: [],
    });
    const res = await sdnctl(["inter-network-routes", "create", network.id, "--peer", peer.id], { env: env(token) });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/^UNPROCESSABLE: .*not served by one router\n {2}\/peerNetworkId: /);
  });

  it("refuses a bad port range before sending anything (exit 2)", async () => {
    const base = ["port-forwards", "create", network.id, "--public-ip", sourceNatIp.id, "--protocol", "tcp"];
    for (const [range, message] of [
      ["80-x", "expected a port (80) or a range (8000-8010) of ports from 1 to 65535."],
      ["90-80", "the range ends below its start (90)."],
      ["70000", "expected a port (80) or a range (8000-8010) of ports from 1 to 65535."],
    ] as const) {
      const res = await sdnctl(
        [...base, "--public-port", range, "--private-ip", "10.20.0.17", "--private-port", "80"],
        {
          env: env(token),
        },
      );
      expect(res.code, range).toBe(2);
      expect(res.stderr).toContain(`option '--public-port <p[-q]>' argument '${range}' is invalid. ${message}`);
    }
    const icmp = await sdnctl(
      [
        "firewall-rules",
        "create",
        network.id,
        "--public-ip",
        sourceNatIp.id,
        "--protocol",
        "icmp",
        "--icmp-type",
        "300",
      ],
      { env: env(token) },
    );
    expect(icmp.code).toBe(2);
    expect(icmp.stderr).toContain("expected a whole number from -1 to 255.");
    expect(json((await ok(["port-forwards", "list", network.id, "--json"])).stdout)).toEqual({ portForwards: [] });
  });

  it("prints the API's code and failing field: 400 from the gateway's schema, 422 from the vr-manager", async () => {
    const pf = (privateIp: string) =>
      sdnctl(
        ["port-forwards", "create", network.id, "--public-ip", sourceNatIp.id, "--protocol", "tcp"].concat([
          "--public-port",
          "22",
          "--private-ip",
          privateIp,
          "--private-port",
          "22",
        ]),
        { env: env(token) },
      );
    const outside = await pf("10.99.0.5");
    expect(outside.code).toBe(3);
    expect(outside.stderr).toMatch(
      /^UNPROCESSABLE: 10\.99\.0\.5 is not a guest address of network web .*\n {2}\/privateIp: /,
    );
    const schema = await pf("ten-dot");
    expect(schema.code).toBe(3);
    expect(schema.stderr).toMatch(/^VALIDATION_FAILED: .*\n {2}body\/privateIp: /);
    const icmpPorts = await sdnctl(["egress-rules", "create", network.id, "--protocol", "icmp", "--ports", "22"], {
      env: env(token),
    });
    expect(icmpPorts.code).toBe(3);
    expect(icmpPorts.stderr).toMatch(/^UNPROCESSABLE: ports go with tcp or udp, not icmp\n {2}\/startPort: /);
  });

  it("another tenant gets NOT_FOUND for the network's rules and FORBIDDEN for routers", async () => {
    const rule = json<{ id: string }>(
      (
        await ok([
          "static-nats",
          "create",
          network.id,
          "--public-ip",
          secondIp.id,
          "--private-ip",
          "10.20.0.30",
          "--json",
        ])
      ).stdout,
    );
    const other = await tenant("l3-other");
    for (const args of [
      ["static-nats", "list", network.id],
      ["static-nats", "delete", network.id, rule.id],
      ["static-nats", "create", network.id, "--public-ip", secondIp.id, "--private-ip", "10.20.0.31"],
      ["egress-policy", "get", network.id],
      ["inter-network-routes", "list", network.id],
    ]) {
      expect(await sdnctl(args, { env: env(other) }), args.join(" ")).toMatchObject({
        code: 3,
        stderr: expect.stringMatching(/^NOT_FOUND: /),
      });
    }
    expect(await sdnctl(["routers", "list"], { env: env(other) })).toMatchObject({
      code: 3,
      stderr: expect.stringMatching(/^FORBIDDEN: /),
    });
    // Still there for its owner.
    expect(json((await ok(["static-nats", "list", network.id, "--json"])).stdout)).toMatchObject({
      staticNats: [{ id: rule.id }],
    });
    await ok(["static-nats", "delete", network.id, rule.id]);
  });
});

describe("routers", () => {
  it("ssh-key prints the key line (fingerprint on stderr), --json the API's body", async () => {
    const res = await ok(["routers", "ssh-key"], adminToken);
    expect(res.stdout).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+( \S+)?\n$/);
    expect(res.stderr).toMatch(/^fingerprint SHA256:[A-Za-z0-9+/]+={0,2}\n$/);
    const body = json((await ok(["routers", "ssh-key", "--json"], adminToken)).stdout);
    expect(body).toEqual(await api("/v1/routers/ssh-key", adminToken));
    expect(res.stdout.trim()).toBe(body.publicKey);
  });

  it("register refuses an unreachable router with its reason (exit 4) and stores nothing", async () => {
    const closedPort = await freePort();
    const res = await sdnctl(
      ["routers", "register", "vr-x", "--host", "host-1", "--vm", "vm-x", "--networks", network.id].concat(
        ["--control-address", "127.0.0.1", "--control-port", String(closedPort), "--host-key"],
        [`SHA256:${randomBytes(32).toString("base64").replace(/=+$/, "")}`, "--public-interface", "eth1"],
        ["--nic", `${network.id}:eth2`, "--no-plug-nics", "--wait"],
      ),
      { env: env() },
    );
    expect(res.code).toBe(4);
    expect(res.stderr).toMatch(
      /^UNAVAILABLE: cannot reach SSH at router 127\.0\.0\.1:\d+: .*\n {2}reason: UNREACHABLE\n/,
    );
    const list = await ok(["routers", "list"], adminToken);
    expect(list.stdout).toMatch(/^ID +NAME +STATE +HOST +VM +CONTROL +GENERATION +NETWORKS +VRRP\n$/);
    expect(json((await ok(["routers", "list", "--json"], adminToken)).stdout)).toEqual({ routers: [] });
  });

  it("refuses a bad --nic before sending anything (exit 2); an unknown router is NOT_FOUND", async () => {
    const res = await sdnctl(
      ["routers", "register", "vr-x", "--host", "h", "--vm", "v", "--networks", network.id].concat([
        "--control-address",
        "10.0.0.1",
        "--host-key",
        "SHA256:x",
        "--public-interface",
        "eth1",
        "--nic",
        "eth2",
      ]),
      { env: env() },
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      "option '--nic <networkId:interface[:hostInterface]>' argument 'eth2' is invalid. expected <networkId>:<interface>[:<hostInterface>]",
    );
    for (const args of [
      ["routers", "get", "vr-0000000000000000"],
      ["routers", "sync", "vr-0000000000000000"],
      ["routers", "delete", "vr-0000000000000000"],
    ]) {
      expect(await sdnctl(args, { env: env() }), args.join(" ")).toMatchObject({
        code: 3,
        stderr: expect.stringMatching(/^NOT_FOUND: router vr-0000000000000000 not found/),
      });
    }
  });
});
