/**
 * The per-account rules quota through the real gateway, network-guru and vr-manager on a
 * real nats-server, no router registered (every rule is stored and answered `no-router`):
 * the count is the account's rules over all its networks, read from the vr-manager's rule
 * books, so a deleted rule frees room and another account's rules never count.
 */
import { CommandClient } from "@sdn/bus";
import { CountRules } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { callApi } from "@sdn/testkit";
import { vrManagerSpec } from "@sdn/vr-manager";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpGateway, type HttpGateway } from "../foundation/http-gateway.js";

let gw: HttpGateway;
let dir: string;

const call = (method: string, path: string, token: string, body?: unknown) =>
  callApi(gw.baseUrl, token, method, path, body) as Promise<{ status: number; body: Record<string, unknown> }>;

const newAccount = async (name: string) => {
  const made = await call("POST", "/v1/accounts", gw.adminToken, { name });
  const { account, token } = made.body as { account: { id: string }; token: { token: string } };
  return { id: account.id, token: token.token };
};

const newNetwork = async (token: string, name: string, cidr: string) =>
  (await call("POST", "/v1/networks", token, { name, cidr })).body as { id: string };

const egressRule = (token: string, networkId: string, port: number) =>
  call("POST", `/v1/networks/${networkId}/egress-rules`, token, { protocol: "tcp", startPort: port });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rules-quota-"));
  gw = await startHttpGateway([
    [networkGuruSpec],
    [vrManagerSpec, { SDN_DATA_DIR: dir, SDN_SECRET_KEY: randomBytes(32).toString("base64") }],
  ]);
});

afterAll(async () => {
  await gw?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("rules quota", () => {
  it("refuses a tenant's rule past its quota over all its networks with 409 naming it; a delete frees room", async () => {
    const a = await newAccount("rules-a");
    const b = await newAccount("rules-b");
    expect((await call("PUT", `/v1/accounts/${a.id}/quotas`, gw.adminToken, { rules: 3 })).status).toBe(200);
    expect((await call("GET", `/v1/accounts/${a.id}/quotas`, a.token)).body).toMatchObject({ rules: 3 });
    const [net1, net2] = [
      await newNetwork(a.token, "ra1", "10.70.0.0/24"),
      await newNetwork(a.token, "ra2", "10.71.0.0/24"),
    ];
    const netB = await newNetwork(b.token, "rb", "10.72.0.0/24");
    // Another account's rules are not the tenant's: B's four leave A's room as it was.
    for (const port of [1, 2, 3, 4]) expect((await egressRule(b.token, netB.id, port)).status).toBe(201);

    const first = await egressRule(a.token, net1.id, 10);
    expect(first.status).toBe(201);
    expect((await egressRule(a.token, net1.id, 11)).status).toBe(201);
    expect((await egressRule(a.token, net2.id, 12)).status).toBe(201);

    // The fourth rule, on either network and of any kind, is refused before it reaches the vr-manager.
    for (const [path, body] of [
      [`/v1/networks/${net2.id}/egress-rules`, { protocol: "tcp", startPort: 13 }],
      [
        `/v1/networks/${net1.id}/firewall-rules`,
        { publicIpId: "pip-203-0-113-10-1a2b3c4d", protocol: "tcp", startPort: 80 },
      ],
    ] as const) {
      const refused = await call("POST", path, a.token, body);
      expect(refused.status).toBe(409);
      const error = refused.body["error"] as { message: string; details: unknown };
      expect(error.message).toContain("quota 'rules' reached");
      expect(error.details).toEqual({ limit: "rules", max: 3 });
    }
    expect(
      ((await call("GET", `/v1/networks/${net2.id}/egress-rules`, a.token)).body["egressRules"] as []).length,
    ).toBe(1);

    // Counted from the rules that exist: deleting one lets the next through.
    const ruleId = first.body["id"] as string;
    expect((await call("DELETE", `/v1/networks/${net1.id}/egress-rules/${ruleId}`, a.token)).status).toBe(200);
    expect((await egressRule(a.token, net2.id, 13)).status).toBe(201);
    expect((await egressRule(a.token, net2.id, 14)).status).toBe(409);

    // Admins are not limited.
    expect((await egressRule(gw.adminToken, net2.id, 15)).status).toBe(201);
  });

  it("counts for a tenant only its own networks' rules, whatever ids it names", async () => {
    const a = await newAccount("rules-c");
    const b = await newAccount("rules-d");
    const netA = await newNetwork(a.token, "rc", "10.73.0.0/24");
    for (const port of [1, 2]) expect((await egressRule(a.token, netA.id, port)).status).toBe(201);
    const client = new CommandClient(gw.nc);
    const ask = async (accountId: string, role: "tenant" | "admin") => {
      const answer = await client.send(CountRules, { networkIds: [netA.id] }, { accountId, role });
      if (!answer.ok) throw new Error(answer.error.message);
      return answer.data.rules;
    };
    expect(await ask(a.id, "tenant")).toBe(2);
    expect(await ask(b.id, "tenant")).toBe(0);
    expect(await ask("admin", "admin")).toBe(2);
  });
});
