/**
 * sdnctl's providers, tunnels and nics commands against the real gateway, network-guru
 * and ovs-element (no hosts: the plugging itself is shown by test/demo against the lab).
 */
import { apiGatewaySpec } from "@sdn/api-gateway";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { freePort, TestNatsServer } from "@sdn/testkit";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sdnctl } from "./cli-runner.js";

let nats: TestNatsServer;
let env: Record<string, string>;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const running: RunningService<never>[] = [];

const start = async (spec: Parameters<typeof startService>[0], extra: Record<string, string> = {}) => {
  const svc = await startService(spec, { NATS_URL: nats.url, LOG_LEVEL: "silent", ...extra });
  running.push(svc as unknown as RunningService<never>);
};

beforeAll(async () => {
  nats = await TestNatsServer.start();
  const port = await freePort();
  await start(apiGatewaySpec, { SDN_HTTP_PORT: String(port), SDN_ADMIN_TOKEN: adminToken });
  await start(networkGuruSpec);
  await start(ovsElementSpec);
  env = { SDN_URL: `http://127.0.0.1:${port}`, SDN_TOKEN: adminToken, HOME: "/nonexistent" };
});

afterAll(async () => {
  for (const svc of running.reverse()) await svc.stop();
  await nats?.dispose();
});

describe("sdnctl providers, tunnels and nics", () => {
  it("lists providers one row per service, and the API's JSON with --json", async () => {
    const res = await sdnctl(["providers", "list"], { env });
    expect(res.code).toBe(0);
    const [header, ...rows] = res.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^PROVIDER +BROADCAST DOMAIN +SERVICE +DELEGATED TO +CAPABILITIES$/);
    expect(rows.find((r) => /^Ovs +gre +Connectivity +- +StretchedL2Subnet=true/.test(r))).toBeDefined();
    expect(rows.find((r) => /^Ovs +gre +SourceNat +VirtualRouter +-$/.test(r))).toBeDefined();
    const json = await sdnctl(["providers", "list", "--json"], { env });
    const api = await (
      await fetch(`${env.SDN_URL}/v1/providers`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json();
    expect(JSON.parse(json.stdout)).toEqual(api);
  });

  it("shows a network without NICs as empty tables; an unknown network is NOT_FOUND (exit 3)", async () => {
    const created = await sdnctl(["networks", "create", "empty", "--cidr", "10.77.0.0/24", "--json"], { env });
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const tunnels = await sdnctl(["tunnels", "list", id], { env });
    expect(tunnels).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^FROM +TO +REMOTE IP +KEY +PORT +STATE +LAST ERROR\n$/),
    });
    expect(JSON.parse((await sdnctl(["tunnels", "list", id, "--json"], { env })).stdout)).toEqual({ tunnels: [] });
    const nics = await sdnctl(["nics", "list", id], { env });
    expect(nics).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^ID +VM +HOST +DEVICE +IP +MAC +ROLE +STATE\n$/),
    });
    const unknown = "00000000-0000-4000-8000-000000000000";
    for (const args of [
      ["tunnels", "list", unknown],
      ["nics", "list", unknown],
    ]) {
      expect(await sdnctl(args, { env })).toMatchObject({ code: 3, stderr: expect.stringMatching(/^NOT_FOUND: /) });
    }
  });
});
