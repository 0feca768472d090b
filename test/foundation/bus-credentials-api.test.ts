import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { apiGatewaySpec } from "@sdn/api-gateway";
import { CommandClient } from "@sdn/bus";
import { CreateNetwork, type IssuedBusCredential } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { startService, type RunningService } from "@sdn/runtime";
import { callApi, freePort, TestNatsServer, waitFor } from "@sdn/testkit";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sdnctl } from "../sdnctl/cli-runner.js";

/*
 * POST/GET/DELETE /v1/accounts/{id}/bus-credentials through the gateway, with the
 * credentials then used on a real server: issued at run time, revoked at run time.
 */

let nats: TestNatsServer;
let baseUrl: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const running: RunningService<never>[] = [];
const opened: NatsConnection[] = [];

const api = (method: string, path: string, body?: unknown, token = adminToken) =>
  callApi(baseUrl, token, method, path, body);

const connectWith = async (c: IssuedBusCredential): Promise<NatsConnection> => {
  const nc = await connect({
    servers: nats.url,
    inboxPrefix: c.inboxPrefix,
    authenticator: credsAuthenticator(new TextEncoder().encode(c.creds)),
    maxReconnectAttempts: 0,
  });
  opened.push(nc);
  return nc;
};

beforeAll(async () => {
  nats = await TestNatsServer.startSecured();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const gateway = await startService(apiGatewaySpec, {
    ...nats.serviceEnv("api-gateway"),
    SDN_BUS_ISSUER_FILE: nats.auth?.issuerPath,
    LOG_LEVEL: "silent",
    SDN_HTTP_PORT: String(port),
    SDN_ADMIN_TOKEN: adminToken,
  });
  const guru = await startService(networkGuruSpec, { ...nats.serviceEnv("network-guru"), LOG_LEVEL: "silent" });
  running.push(gateway as unknown as RunningService<never>, guru as unknown as RunningService<never>);
});

afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  for (const svc of running.reverse()) await svc.stop();
  await nats?.dispose();
});

describe("bus credentials of external systems", () => {
  it("issues credentials bound to an account, lists them without the seed, and revokes them on the server", async () => {
    const created = await api("POST", "/v1/accounts", { name: "acme" });
    expect(created.status).toBe(201);
    const account = (created.body as { account: { id: string }; token: { token: string } }).account;
    const tenantToken = (created.body as { token: { token: string } }).token.token;

    const issued = await api("POST", `/v1/accounts/${account.id}/bus-credentials`);
    expect(issued.status).toBe(201);
    const cred = issued.body as unknown as IssuedBusCredential;
    expect(cred).toMatchObject({ accountId: account.id, role: "tenant", inboxPrefix: `_INBOX.creds.${cred.id}` });
    expect(cred.creds).toContain("-----BEGIN NATS USER JWT-----");

    const nc = await connectWith(cred);
    const client = new CommandClient(nc, { kind: "account", accountId: account.id });
    const answer = await client.send(CreateNetwork, { name: "from-bus", cidr: "10.80.0.0/24" }, { timeoutMs: 10_000 });
    expect(answer).toMatchObject({ ok: true, data: { accountId: account.id } });

    const listed = await api("GET", `/v1/accounts/${account.id}/bus-credentials`);
    expect(listed.body).toEqual({ items: [expect.objectContaining({ id: cred.id, publicKey: cred.publicKey })] });
    expect(JSON.stringify(listed.body)).not.toContain("SUA");

    // Only admins manage bus credentials.
    expect((await api("POST", `/v1/accounts/${account.id}/bus-credentials`, undefined, tenantToken)).status).toBe(403);

    expect((await api("DELETE", `/v1/accounts/${account.id}/bus-credentials/${cred.id}`)).status).toBe(204);
    await waitFor("the revoked connection to be cut", () => (nc.isClosed() ? true : undefined), 10_000);
    const again = await connectWith(cred).catch((e: unknown) => e);
    expect(String(again)).toMatch(/Authorization Violation|revoked/i);
    expect((await api("DELETE", `/v1/accounts/${account.id}/bus-credentials/${cred.id}`)).status).toBe(404);
    const after = await api("GET", `/v1/accounts/${account.id}/bus-credentials`);
    expect((after.body as { items: { revokedAt?: string }[] }).items[0]?.revokedAt).toBeDefined();
  });

  it("issues admin bus credentials for the admin account, and nothing for an unknown account", async () => {
    const issued = await api("POST", "/v1/accounts/admin/bus-credentials");
    expect(issued.body).toMatchObject({ accountId: "admin", role: "admin" });
    expect((await api("POST", "/v1/accounts/no-such-account/bus-credentials")).status).toBe(404);
  });

  it("does the same through sdnctl bus-credentials create / list / revoke", async () => {
    const env = { SDN_URL: baseUrl, SDN_TOKEN: adminToken, HOME: "/nonexistent" };
    const dir = mkdtempSync(join(tmpdir(), "sdn-bus-creds-"));
    try {
      const file = join(dir, "ops.creds");
      const created = await sdnctl(["bus-credentials", "create", "--account", "admin", "--out", file, "--json"], {
        env,
      });
      expect(created.code, created.stderr).toBe(0);
      const info = JSON.parse(created.stdout) as { id: string; creds: string };
      expect(info.creds).toBe(`written to ${file}`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, "utf8")).toContain("-----BEGIN USER NKEY SEED-----");
      const listed = await sdnctl(["bus-credentials", "list", "--account", "admin"], { env });
      expect(listed.stdout).toContain(info.id);
      const revoked = await sdnctl(["bus-credentials", "revoke", info.id, "--account", "admin"], { env });
      expect(revoked.code, revoked.stderr).toBe(0);
      const again = await sdnctl(["bus-credentials", "revoke", info.id, "--account", "admin"], { env });
      expect(again).toMatchObject({ code: 3, stderr: expect.stringMatching(/^NOT_FOUND: /) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
