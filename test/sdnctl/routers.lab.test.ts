/**
 * `sdnctl routers register` against a real router of the lab (root needed): a namespace
 * running sshd on port 3922, reached on the lab's underlay, with veths for its public and
 * guest interfaces (no hypervisor: its NICs are plugged already). The gateway's wait time
 * is short, so a push to the router outlasts it and `--wait` follows a real job. Rule changes then report `applied` and land in
 * the router's iptables.
 */
import { apiGatewaySpec } from "@sdn/api-gateway";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { freePort, TestNatsServer } from "@sdn/testkit";
import { ServiceStack } from "@sdn/testkit/stack";
import { vrManagerSpec } from "@sdn/vr-manager";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec, Lab } from "../lab/index.js";
import { labNamespace, LabRouter, ROUTER_PROGRAM_DIR } from "../vr-manager/router-lab.js";
import { CREATE_PUBLIC_IP_RANGE, sdnctl } from "./cli-runner.js";

let lab: Lab;
let nats: TestNatsServer;
let router: LabRouter;
let baseUrl: string;
let token: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const networks: { id: string }[] = [];
let publicIp: { id: string; ip: string };

const stack = new ServiceStack(() => ({ NATS_URL: nats.url }));

const env = (t: string) => ({ SDN_URL: baseUrl, SDN_TOKEN: t, HOME: "/nonexistent" });
const field = (stdout: string, name: string) => new RegExp(`^${name} +(.+)$`, "m").exec(stdout)?.[1];
const ok = async (args: string[], t = token) => {
  const res = await sdnctl(args, { env: env(t) });
  expect(res.code, `sdnctl ${args.join(" ")}: ${res.stderr}`).toBe(0);
  return res;
};
const json = <T>(stdout: string) => JSON.parse(stdout) as T;

beforeAll(async () => {
  lab = await Lab.create();
  nats = await TestNatsServer.start();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  await stack.start(apiGatewaySpec, {
    SDN_HTTP_PORT: String(port),
    SDN_COMMAND_WAIT_MS: "200",
    SDN_ADMIN_TOKEN: adminToken,
  });
  await stack.start(networkGuruSpec);
  await stack.start(ovsElementSpec); // the router's guest NICs (DHCP leases) come from it
  await stack.start(vrManagerSpec, {
    SDN_DATA_DIR: join(lab.dir, "data"),
    SDN_SECRET_KEY: randomBytes(32).toString("base64"),
    SDN_VR_PROGRAM_DIR: ROUTER_PROGRAM_DIR,
    SDN_VR_CHECK_INTERVAL_MS: "60000",
  });
  await ok(CREATE_PUBLIC_IP_RANGE, adminToken);
  token = json<{ token: { token: string } }>(
    (await ok(["accounts", "create", "vr-tenant", "--json"], adminToken)).stdout,
  ).token.token;
  for (const [name, cidr] of [
    ["a", "10.1.0.0/24"],
    ["b", "10.2.0.0/24"],
  ] as const) {
    const n = json<{ id: string }>((await ok(["networks", "create", name, "--cidr", cidr, "--json"])).stdout);
    networks.push(n);
    const ip = json<{ id: string; ip: string }>(
      (await ok(["public-ips", "acquire", "--network", n.id, "--json"])).stdout,
    );
    publicIp ??= ip;
  }

  router = await LabRouter.create(lab, "rt");
  await router.controlOnUnderlay(lab, 201);
  const peer = await labNamespace(lab, "peer");
  for (const [dev, other] of [
    ["eth1", "p0"],
    ["eth2", "p1"],
    ["eth3", "p2"],
  ] as const) {
    await exec(["ip", "-n", router.ns, "link", "add", dev, "type", "veth", "peer", "name", other, "netns", peer]);
    await exec(["ip", "-n", router.ns, "link", "set", dev, "up"]);
  }
  // The key the vr-manager logs in with, as an operator would put it there.
  await router.startSshd([(await ok(["routers", "ssh-key"], adminToken)).stdout]);
}, 120_000);

afterAll(async () => {
  await stack.stop();
  await nats?.dispose();
  await lab?.dispose();
});

describe("sdnctl routers with a lab router", () => {
  let routerId = "";

  it("registers the router with --wait: state Applied; list and get show it", async () => {
    const [a, b] = networks as [{ id: string }, { id: string }];
    const res = await ok(
      ["routers", "register", "rt", "--host", "host-1", "--vm", "vm-rt", "--networks", `${a.id},${b.id}`].concat(
        ["--control-address", router.controlAddress, "--host-key", router.hostKeyFingerprint],
        ["--public-interface", "eth1", "--nic", `${a.id}:eth2`, "--nic", `${b.id}:eth3`, "--no-plug-nics", "--wait"],
      ),
      adminToken,
    );
    routerId = field(res.stdout, "id") ?? "";
    expect(routerId).toMatch(/^vr-[0-9a-f]{16}$/);
    expect(field(res.stdout, "state")).toBe("Applied");
    expect(field(res.stdout, "nics")).toBe(`${a.id}:eth2, ${b.id}:eth3`);
    expect(field(res.stdout, "control")).toBe(`root@${router.controlAddress}:3922 (ssh)`);
    expect(res.stderr).toMatch(/^waiting for job \S+\.\.\.\n/);

    const list = await ok(["routers", "list"], adminToken);
    const [header, ...rows] = list.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID +NAME +STATE +HOST +VM +CONTROL +GENERATION +NETWORKS +VRRP$/);
    expect(rows).toEqual([expect.stringMatching(new RegExp(`^${routerId} +rt +Applied +host-1 +vm-rt +`))]);
    const got = json<{ state: string; appliedGeneration: number; generation: number }>(
      (await ok(["routers", "get", routerId, "--json"], adminToken)).stdout,
    );
    expect(got.state).toBe("Applied");
    expect(got.appliedGeneration).toBe(got.generation);
  });

  it("a tenant's port forward and inter-network route are applied on the router", async () => {
    const [a, b] = networks as [{ id: string }, { id: string }];
    const pf = await ok(
      [
        "port-forwards",
        "create",
        a.id,
        "--public-ip",
        publicIp.id,
        "--protocol",
        "tcp",
        "--public-port",
        "8080",
      ].concat(["--private-ip", "10.1.0.17", "--private-port", "80", "--wait"]),
    );
    expect(field(pf.stdout, "apply")).toBe("applied");
    expect(field(pf.stdout, "router")).toBe(routerId);
    expect(await router.iptables()).toMatch(/DNAT.*--to-destination 10\.1\.0\.17:80/);

    const route = await ok(["inter-network-routes", "create", a.id, "--peer", b.id, "--wait"]);
    expect(field(route.stdout, "apply")).toBe("applied");
    const routeId = field(route.stdout, "id") ?? "";
    const list = await ok(["inter-network-routes", "list", b.id]);
    expect(list.stdout).toMatch(new RegExp(`^${routeId} +${[a.id, b.id].sort().join(",")} +${routerId} +`, "m"));
    const deleted = await ok(["inter-network-routes", "delete", b.id, routeId, "--wait"]);
    expect(field(deleted.stdout, "apply")).toBe("applied");
  });

  it("sync pushes again; delete forgets the router and rules go back to no-router", async () => {
    const synced = await ok(["routers", "sync", routerId, "--wait"], adminToken);
    expect(field(synced.stdout, "state")).toBe("Applied");
    const deleted = await ok(["routers", "delete", routerId, "--wait"], adminToken);
    expect(deleted.stderr).toBe(`deleted router ${routerId}\n`);
    expect((await ok(["routers", "list", "--json"], adminToken)).stdout).toBe('{\n  "routers": []\n}\n');
    const policy = await ok(["egress-policy", "set", (networks[0] as { id: string }).id, "deny", "--wait"]);
    expect(field(policy.stdout, "apply")).toBe("no-router");
  });
});
