import { jetstreamManager } from "@nats-io/jetstream";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { auditSubject, STREAMS, type AuditPage, type AuditRecord } from "@sdn/contracts";
import { callApi, createTenant, publishRefusal, type TestNatsServer } from "@sdn/testkit";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSecuredGateway, type SecuredGateway } from "./secured-gateway.js";

/*
 * The gateway's own changes in the audit trail (docs/audit.md), on a secured bus: accounts,
 * tokens, quotas and bus credentials are recorded under the service `api-gateway` with the
 * caller's account and token id, refused attempts too, and never a token or credential.
 */

let nats: TestNatsServer;
let controller: SecuredGateway | undefined;
let baseUrl: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const opened: NatsConnection[] = [];
/** Every secret this test was handed: none may appear in any record. */
const secrets: string[] = [adminToken];

const call = (token: string, method: string, path: string, body?: unknown) =>
  callApi(baseUrl, token, method, path, body);

const records = async (token: string, query = ""): Promise<AuditRecord[]> => {
  const res = await call(token, "GET", `/v1/audit${query}`);
  expect(res.status).toBe(200);
  const items = (res.body as unknown as AuditPage).items;
  for (const secret of secrets) expect(JSON.stringify(items)).not.toContain(secret);
  return items;
};

type Tenant = Awaited<ReturnType<typeof createTenant>>;
const tenant = async (name: string): Promise<Tenant> => {
  const t = await createTenant(baseUrl, adminToken, name);
  secrets.push(t.token);
  return t;
};

let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  controller = await startSecuredGateway({
    adminToken,
    gatewayEnv: (server) => ({ SDN_BUS_ISSUER_FILE: server.auth?.issuerPath }),
  });
  ({ nats, baseUrl } = controller);
  a = await tenant("gw-audit-a");
  b = await tenant("gw-audit-b");
});

afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  await controller?.stop();
});

describe("the gateway's own changes in the audit trail", () => {
  it("records the admin token the gateway installed at start, without its value", async () => {
    const own = await records(adminToken, "?command=InstallAdminToken");
    expect(own).toEqual([
      expect.objectContaining({
        service: "api-gateway",
        origin: "api-gateway",
        accountId: "admin",
        role: "admin",
        resources: { tokenId: "bootstrap-env" },
        ok: true,
      }),
    ]);
    expect(own[0]?.tokenId).toBeUndefined();
  });

  it("records a token's creation and revocation for the admin and for that tenant only, with no token value", async () => {
    const created = await call(a.token, "POST", `/v1/accounts/${a.accountId}/tokens`, { name: "ci" });
    expect(created.status).toBe(201);
    const issued = created.body as { id: string; token: string };
    secrets.push(issued.token);
    expect((await call(adminToken, "DELETE", `/v1/tokens/${issued.id}`)).status).toBe(204);

    const expected = [
      expect.objectContaining({
        command: "CreateAccount",
        service: "api-gateway",
        origin: "api-gateway",
        accountId: a.accountId,
        role: "admin",
        tokenId: "bootstrap-env",
        resources: { name: "gw-audit-a", accountId: a.accountId, tokenId: a.tokenId },
        ok: true,
      }),
      expect.objectContaining({
        command: "CreateToken",
        accountId: a.accountId,
        role: "tenant",
        tokenId: a.tokenId,
        resources: { name: "ci", accountId: a.accountId, tokenId: issued.id },
        ok: true,
      }),
      expect.objectContaining({
        command: "RevokeToken",
        accountId: a.accountId,
        role: "admin",
        tokenId: "bootstrap-env",
        resources: { tokenId: issued.id, accountId: a.accountId },
        ok: true,
      }),
    ];
    expect(await records(a.token)).toEqual(expected);
    expect(await records(adminToken, `?accountId=${a.accountId}`)).toEqual(expected);
    // The other tenant sees none of it.
    expect((await records(b.token)).map((r) => r.accountId)).toEqual([b.accountId]);
  });

  it("records refused attempts under the caller's own account, naming nothing of another account", async () => {
    // 403: a tenant may not create accounts or set quotas.
    expect((await call(b.token, "POST", "/v1/accounts", { name: "sneaky" })).status).toBe(403);
    expect((await call(b.token, "PUT", `/v1/accounts/${b.accountId}/quotas`, { tokens: 100 })).status).toBe(403);
    // 404: another account's token is "not found" to a tenant, and its account stays unnamed.
    expect((await call(b.token, "DELETE", `/v1/tokens/${a.tokenId}`)).status).toBe(404);
    // 409: past the token quota.
    expect((await call(adminToken, "PUT", `/v1/accounts/${b.accountId}/quotas`, { tokens: 1 })).status).toBe(200);
    expect((await call(b.token, "POST", `/v1/accounts/${b.accountId}/tokens`, {})).status).toBe(409);

    const refused = (await records(b.token)).filter((r) => !r.ok || r.command === "SetQuotas");
    expect(refused).toEqual([
      expect.objectContaining({
        command: "CreateAccount",
        accountId: b.accountId,
        tokenId: b.tokenId,
        // Refused before its body was read.
        resources: {},
        ok: false,
        errorCode: "FORBIDDEN",
      }),
      expect.objectContaining({
        command: "SetQuotas",
        role: "tenant",
        resources: { accountId: b.accountId },
        ok: false,
        errorCode: "FORBIDDEN",
      }),
      expect.objectContaining({
        command: "RevokeToken",
        accountId: b.accountId,
        resources: { tokenId: a.tokenId },
        ok: false,
        errorCode: "NOT_FOUND",
      }),
      expect.objectContaining({
        command: "SetQuotas",
        role: "admin",
        resources: { accountId: b.accountId, tokens: "1" },
        ok: true,
      }),
      expect.objectContaining({ command: "CreateToken", ok: false, errorCode: "CONFLICT" }),
    ]);
    // Nothing of b's attempts went into a's trail.
    expect((await records(a.token)).every((r) => r.tokenId !== b.tokenId)).toBe(true);
  });

  it("records bus credentials' issue and revocation, never the .creds text", async () => {
    const issued = await call(adminToken, "POST", `/v1/accounts/${a.accountId}/bus-credentials`);
    expect(issued.status).toBe(201);
    const cred = issued.body as { id: string; publicKey: string; creds: string };
    const seed = /SUA[A-Z0-9]+/.exec(cred.creds)?.[0] as string;
    const jwt = /eyJ[A-Za-z0-9._-]+/.exec(cred.creds)?.[0] as string;
    secrets.push(seed, jwt);
    expect(seed.length).toBeGreaterThan(20);
    expect((await call(adminToken, "DELETE", `/v1/accounts/${a.accountId}/bus-credentials/${cred.id}`)).status).toBe(
      204,
    );
    const bus = await records(a.token, "?command=CreateBusCredentials");
    expect(bus).toEqual([
      expect.objectContaining({
        role: "admin",
        resources: { accountId: a.accountId, credentialId: cred.id, publicKey: cred.publicKey },
        ok: true,
      }),
    ]);
    expect(await records(a.token, "?command=RevokeBusCredentials")).toEqual([
      expect.objectContaining({ resources: { accountId: a.accountId, credentialId: cred.id }, ok: true }),
    ]);
  });

  it("lets the gateway write records under its own name only", async () => {
    const gw = await nats.connectAs("api-gateway");
    opened.push(gw);
    for (const service of ["network-guru", "vr-manager", "hypervisor-agent"]) {
      const forged = auditSubject(service, "DeleteNetwork", a.accountId);
      expect(await publishRefusal(gw, forged), forged).toBeInstanceOf(errors.PermissionViolationError);
    }
    // Its own name is open to it: the records above were written so.
  });

  it("stores no token or credential anywhere in the stream, not even outside the served fields", async () => {
    const jsm = await jetstreamManager(await nats.connectAs("api-gateway").then((c) => (opened.push(c), c)));
    const { state } = await jsm.streams.info(STREAMS.audit.name);
    expect(state.messages).toBeGreaterThan(10);
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(STREAMS.audit.name, { seq });
      const raw = m?.string() ?? "";
      for (const secret of secrets) expect(raw).not.toContain(secret);
      expect(Object.keys(JSON.parse(raw) as object)).not.toContain("token");
    }
  });
});
