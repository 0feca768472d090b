/**
 * sdnctl's networks, public-ips and public-ip-ranges commands against the real gateway
 * and network-guru. The guru starts late: the first network is created while it is
 * down, so the API answers 202 and `--wait` follows a real job to its end.
 */
import { apiGatewaySpec } from "@sdn/api-gateway";
import { networkGuruSpec } from "@sdn/network-guru";
import { freePort, TestNatsServer, waitFor } from "@sdn/testkit";
import { ServiceStack } from "@sdn/testkit/stack";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Captured, sdnctl } from "./cli-runner.js";

let nats: TestNatsServer;
let baseUrl: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const stack = new ServiceStack(() => ({ NATS_URL: nats.url }));

const env = (token = adminToken) => ({ SDN_URL: baseUrl, SDN_TOKEN: token, HOME: "/nonexistent" });

beforeAll(async () => {
  nats = await TestNatsServer.start();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  await stack.start(apiGatewaySpec, {
    SDN_HTTP_PORT: String(port),
    SDN_COMMAND_WAIT_MS: "500",
    SDN_ADMIN_TOKEN: adminToken,
  });
});

afterAll(async () => {
  await stack.stop();
  await nats?.dispose();
});

const tenant = async (name: string) => {
  const res = await sdnctl(["accounts", "create", name, "--json"], { env: env() });
  return (JSON.parse(res.stdout) as { account: { id: string }; token: { token: string } }).token.token;
};

const field = (stdout: string, name: string) => new RegExp(`^${name} +(.+)$`, "m").exec(stdout)?.[1];

describe("networks create --wait while the network-guru is down", () => {
  it("gets a 202, follows the job until the guru (started late) designs the network", async () => {
    const stderr = new Captured();
    const creating = sdnctl(["networks", "create", "late", "--cidr", "10.50.0.0/24", "--wait"], { env: env(), stderr });
    await waitFor("the job", () => (stderr.text.includes("waiting for job") ? true : undefined), 10_000);
    await stack.start(networkGuruSpec);
    const res = await creating;
    expect(res.code).toBe(0);
    expect(field(res.stdout, "name")).toBe("late");
    expect(field(res.stdout, "state")).toBe("Allocated");
    expect(field(res.stdout, "cidr")).toBe("10.50.0.0/24");
    const progress = res.stderr.trimEnd().split("\n");
    expect(progress[0]).toMatch(/^waiting for job \S+\.\.\.$/);
    // The guru's own event for this command, then the end of the job.
    expect(progress.slice(1)).toEqual(["  NetworkDesigned", expect.stringMatching(/^job \S+ succeeded after /)]);
  });
});

describe("networks", () => {
  it("creates, lists, gets, updates and deletes a network: tables and --json", async () => {
    const token = await tenant("net-tenant");
    const created = await sdnctl(
      ["networks", "create", "web", "--cidr", "10.9.0.0/24", "--dns", "1.1.1.1,9.9.9.9", "--mtu", "1400"],
      { env: env(token) },
    );
    expect(created.code).toBe(0);
    const id = field(created.stdout, "id") ?? "";
    expect(field(created.stdout, "gateway")).toBe("10.9.0.1");
    expect(field(created.stdout, "dns")).toBe("1.1.1.1, 9.9.9.9");
    expect(field(created.stdout, "mtu")).toBe("1400");
    expect(field(created.stdout, "encapsulation")).toBe("gre");

    const list = await sdnctl(["networks", "list"], { env: env(token) });
    const [header, ...rows] = list.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID +NAME +STATE +CIDR +GATEWAY +ENCAP +GRE KEY +VNI +ACCOUNT$/);
    expect(rows).toEqual([
      expect.stringMatching(new RegExp(`^${id} +web +Allocated +10\\.9\\.0\\.0/24 +10\\.9\\.0\\.1 +gre +- +- +\\S+$`)),
    ]);
    const listJson = await sdnctl(["networks", "list", "--json"], { env: env(token) });
    const api = await (await fetch(`${baseUrl}/v1/networks`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(JSON.parse(listJson.stdout)).toEqual(api);

    const got = await sdnctl(["networks", "get", id, "--json"], { env: env(token) });
    expect(JSON.parse(got.stdout)).toMatchObject({ id, name: "web", dns: ["1.1.1.1", "9.9.9.9"], mtu: 1400 });

    const updated = await sdnctl(["networks", "update", id, "--mtu", "1450", "--name", "web-2"], { env: env(token) });
    expect(updated.code).toBe(0);
    expect(field(updated.stdout, "name")).toBe("web-2");
    expect(field(updated.stdout, "mtu")).toBe("1450");

    const other = await tenant("net-other");
    expect(await sdnctl(["networks", "get", id], { env: env(other) })).toMatchObject({
      code: 3,
      stderr: expect.stringMatching(/^NOT_FOUND: /),
    });

    const deleted = await sdnctl(["networks", "delete", id], { env: env(token) });
    expect(deleted.code).toBe(0);
    expect(field(deleted.stdout, "deleted")).toBe(id);
    expect((await sdnctl(["networks", "get", id], { env: env(token) })).code).toBe(3);
  });

  it("names the failing field: 400 from the gateway's schema, 422 from the guru", async () => {
    const token = await tenant("net-bad");
    const schema = await sdnctl(["networks", "create", "bad", "--cidr", "ten-dot-nine"], { env: env(token) });
    expect(schema.code).toBe(3);
    expect(schema.stderr).toMatch(/^VALIDATION_FAILED: .*\n {2}body\/cidr: must match pattern/);

    const guru = await sdnctl(["networks", "create", "bad", "--cidr", "10.9.0.5/24"], { env: env(token) });
    expect(guru.code).toBe(3);
    expect(guru.stderr).toMatch(/^UNPROCESSABLE: .*\n {2}\/cidr: /);
  });

  it("lists one account's networks a page at a time with --limit and --cursor; list alone shows them all", async () => {
    const token = await tenant("net-pages");
    const ids: string[] = [];
    for (const name of ["p1", "p2", "p3"]) {
      const made = await sdnctl(["networks", "create", name, "--cidr", "10.12.0.0/24", "--json"], { env: env(token) });
      ids.push((JSON.parse(made.stdout) as { id: string; accountId: string }).id);
    }
    ids.sort();
    const idsOf = (stdout: string) =>
      stdout
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((r) => r.split(/ +/)[0] ?? "");
    expect(idsOf((await sdnctl(["networks", "list"], { env: env(token) })).stdout)).toEqual(ids);

    const shown: string[] = [];
    let cursor: string[] = [];
    for (let page = 0; page < 2; page++) {
      const res = await sdnctl(["networks", "list", "--limit", "2", ...cursor], { env: env(token) });
      shown.push(...idsOf(res.stdout));
      const next = /^more: add --cursor (\S+)$/m.exec(res.stderr)?.[1];
      expect(next === undefined, `page ${page}`).toBe(page === 1);
      cursor = ["--cursor", next ?? ""];
    }
    expect(shown).toEqual(ids);
  });

  it("designs a vxlan network with --encapsulation and shows it; refuses another kind before sending (exit 2)", async () => {
    const token = await tenant("net-vxlan");
    const made = await sdnctl(["networks", "create", "vx", "--cidr", "10.13.0.0/24", "--encapsulation", "vxlan"], {
      env: env(token),
    });
    expect(made.code).toBe(0);
    expect(field(made.stdout, "encapsulation")).toBe("vxlan");
    const bad = await sdnctl(["networks", "create", "x", "--cidr", "10.0.0.0/24", "--encapsulation", "geneve"], {
      env: env(token),
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Allowed choices are gre, vxlan");
  });

  it("refuses a bad --mtu before sending anything (exit 2)", async () => {
    const res = await sdnctl(["networks", "create", "x", "--cidr", "10.0.0.0/24", "--mtu", "big"], { env: env() });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("option '--mtu <bytes>' argument 'big' is invalid");
  });
});

describe("public IP ranges and public IPs", () => {
  it("an admin defines a range; a tenant acquires, lists and releases; a held IP blocks the delete (409)", async () => {
    const token = await tenant("pip-tenant");
    const rangeArgs = [
      "--cidr",
      "192.0.2.0/24",
      "--gateway",
      "192.0.2.1",
      "--start",
      "192.0.2.10",
      "--end",
      "192.0.2.20",
    ];
    expect(await sdnctl(["public-ip-ranges", "create", ...rangeArgs], { env: env(token) })).toMatchObject({
      code: 3,
      stderr: "FORBIDDEN: only an admin token may call this route\n",
    });
    const range = await sdnctl(["public-ip-ranges", "create", ...rangeArgs, "--name", "edge-1"], { env: env() });
    expect(range.code).toBe(0);
    const rangeId = field(range.stdout, "id") ?? "";
    expect(field(range.stdout, "addresses")).toBe("192.0.2.10-192.0.2.20 (11)");
    const ranges = await sdnctl(["public-ip-ranges", "list"], { env: env() });
    expect(ranges.stdout.split("\n")[0]).toMatch(/^ID +NAME +CIDR +GATEWAY +FIRST +LAST +SIZE$/);
    expect(ranges.stdout).toMatch(
      new RegExp(
        `^${rangeId} +edge-1 +192\\.0\\.2\\.0/24 +192\\.0\\.2\\.1 +192\\.0\\.2\\.10 +192\\.0\\.2\\.20 +11$`,
        "m",
      ),
    );

    const net = JSON.parse(
      (await sdnctl(["networks", "create", "edge", "--cidr", "10.10.0.0/24", "--json"], { env: env(token) })).stdout,
    ) as { id: string };
    const acquired = await sdnctl(["public-ips", "acquire", "--network", net.id, "--json"], { env: env(token) });
    expect(acquired.code).toBe(0);
    const ip = JSON.parse(acquired.stdout) as { id: string; ip: string };
    expect(ip).toMatchObject({ networkId: net.id, isSourceNat: true, rangeId });

    const list = await sdnctl(["public-ips", "list", "--network", net.id], { env: env(token) });
    expect(list.stdout.split("\n")[0]).toMatch(/^ID +IP +NETWORK +SOURCE NAT +ACQUIRED$/);
    expect(list.stdout).toMatch(new RegExp(`^${ip.id} +${ip.ip.replaceAll(".", "\\.")} +${net.id} +yes +\\S+$`, "m"));

    const held = await sdnctl(["networks", "delete", net.id], { env: env(token) });
    expect(held.code).toBe(3);
    expect(held.stderr).toMatch(/^CONFLICT: .*192\.0\.2\./);

    const released = await sdnctl(["public-ips", "release", ip.id], { env: env(token) });
    expect(released.code).toBe(0);
    expect(field(released.stdout, "ip")).toBe(ip.ip);
    expect((await sdnctl(["networks", "delete", net.id], { env: env(token) })).code).toBe(0);
    const gone = await sdnctl(["public-ip-ranges", "delete", rangeId, "--json"], { env: env() });
    expect(JSON.parse(gone.stdout)).toMatchObject({ id: rangeId, name: "edge-1" });
  });
});
