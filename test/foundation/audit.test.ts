import { jetstreamManager } from "@nats-io/jetstream";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { CommandClient } from "@sdn/bus";
import { auditSubject, CreateNetwork, STREAMS, type AuditPage } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import {
  callApi,
  connectWithCreds,
  createTenant,
  publishRefusal,
  subscriptionEnd,
  type TestNatsServer,
  waitFor,
} from "@sdn/testkit";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSecuredGateway, type SecuredGateway } from "./secured-gateway.js";

/*
 * The audit trail (docs/audit.md) on a secured bus: commands from HTTP and from bus
 * credentials are recorded by the service that ran them; tenants read their own records
 * over HTTP and nothing of the trail on the bus.
 */

let nats: TestNatsServer;
let baseUrl: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
let controller: SecuredGateway | undefined;
const opened: NatsConnection[] = [];

const call = (token: string, method: string, path: string, body?: unknown) =>
  callApi(baseUrl, token, method, path, body);

const audit = async (token: string, query = "") => {
  const res = await call(token, "GET", `/v1/audit${query}`);
  return { status: res.status, page: res.body as unknown as AuditPage };
};

/** The services' records only: the gateway's own (accounts, tokens) are test/foundation/gateway-audit.test.ts's. */
const commandRecords = async (token: string, query = "") =>
  (await audit(token, query)).page.items.filter((r) => r.service !== "api-gateway");

type Tenant = Awaited<ReturnType<typeof createTenant>>;
const tenant = (name: string): Promise<Tenant> => createTenant(baseUrl, adminToken, name);

const busTenant = async (accountId: string, credentialId: string) => {
  const nc = await connectWithCreds(nats.url, await nats.issuer().issue(accountId, credentialId));
  opened.push(nc);
  return nc;
};

let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  controller = await startSecuredGateway({
    adminToken,
    gatewayEnv: () => ({ SDN_READY_TIMEOUT_MS: "300" }),
    services: [networkGuruSpec],
  });
  ({ nats, baseUrl } = controller);
  a = await tenant("audit-a");
  b = await tenant("audit-b");
});

afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  await controller?.stop();
});

describe("the audit trail", () => {
  it("records an HTTP command with its account, token, origin, resources and outcome", async () => {
    const created = await call(a.token, "POST", "/v1/networks", { name: "audited", cidr: "10.80.0.0/24" });
    expect(created.status).toBe(201);
    const refused = await call(a.token, "DELETE", `/v1/networks/${randomUUID()}`);
    expect(refused.status).toBe(404);
    const items = await waitFor("both records", async () => {
      const r = await commandRecords(a.token);
      return r.length >= 2 ? r : undefined;
    });
    expect(items[0]).toMatchObject({
      command: "CreateNetwork",
      service: "network-guru",
      accountId: a.accountId,
      role: "tenant",
      origin: "api-gateway",
      tokenId: a.tokenId,
      resources: { name: "audited", id: created.body.id },
      ok: true,
    });
    expect(items[1]).toMatchObject({ command: "DeleteNetwork", ok: false, errorCode: "NOT_FOUND" });
    // Reads are not recorded.
    await call(a.token, "GET", "/v1/networks");
    expect((await commandRecords(a.token)).map((r) => r.command)).toEqual(["CreateNetwork", "DeleteNetwork"]);
  });

  it("records a command sent with an account's bus credentials under its bus identity, ignoring a forged token id", async () => {
    const nc = await busTenant(b.accountId, "bc-audit-b");
    const client = new CommandClient(nc, { kind: "account", accountId: b.accountId });
    const answer = await client.send(
      CreateNetwork,
      { name: "from-bus", cidr: "10.81.0.0/24" },
      { tokenId: a.tokenId, role: "admin", timeoutMs: 10_000 },
    );
    expect(answer.ok).toBe(true);
    const { page } = await waitFor("b's record", async () => {
      const r = await audit(b.token, "?command=CreateNetwork");
      return r.page.items.length > 0 ? r : undefined;
    });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ origin: `acct.${b.accountId}`, role: "tenant", accountId: b.accountId });
    expect(page.items[0]?.tokenId).toBeUndefined();
  });

  it("shows a tenant only its own records and refuses another account's", async () => {
    const own = await audit(b.token);
    expect(own.page.items.every((r) => r.accountId === b.accountId)).toBe(true);
    expect((await audit(b.token, `?accountId=${a.accountId}`)).status).toBe(403);
    // Admins see every account's (the admin account's own: the admin token installed at start), and filter.
    const all = await audit(adminToken);
    expect(new Set(all.page.items.map((r) => r.accountId))).toEqual(new Set([a.accountId, b.accountId, "admin"]));
    const onlyA = await audit(adminToken, `?accountId=${a.accountId}&command=DeleteNetwork`);
    expect(onlyA.page.items.map((r) => r.command)).toEqual(["DeleteNetwork"]);
  });

  it("pages with opaque cursors and filters by time", async () => {
    const first = await audit(adminToken, "?limit=1");
    expect(first.page.items).toHaveLength(1);
    const cursor = first.page.nextCursor as string;
    expect(Buffer.from(cursor, "base64url").toString()).not.toMatch(/acct|audit|-/);
    const second = await audit(adminToken, `?limit=1&cursor=${cursor}`);
    expect(second.page.items[0]?.commandId).not.toBe(first.page.items[0]?.commandId);
    expect((await audit(adminToken, "?cursor=bm90LWEtY3Vyc29y")).status).toBe(400);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await audit(adminToken, `?since=${future}`)).page.items).toEqual([]);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect((await audit(adminToken, `?until=${past}`)).page.items).toEqual([]);
    expect((await commandRecords(adminToken, `?since=${past}`)).length).toBe(3);
  });

  it("keeps tenants' bus credentials from writing or reading the trail", async () => {
    const nc = await busTenant(a.accountId, "bc-audit-a");
    const forged = auditSubject("network-guru", "ForgedCommand", a.accountId);
    expect(await publishRefusal(nc, forged)).toBeInstanceOf(errors.PermissionViolationError);
    expect(await subscriptionEnd(nc, "sdn.audit.>")).toBeInstanceOf(errors.PermissionViolationError);
    const read = await nc
      .request(`$JS.API.STREAM.MSG.GET.${STREAMS.audit.name}`, JSON.stringify({ seq: 1 }), { timeout: 2_000 })
      .catch((e: unknown) => e);
    expect(read).toBeInstanceOf(Error);
    const jsm = await jetstreamManager(await nats.connectAs("api-gateway").then((c) => (opened.push(c), c)));
    const info = await jsm.streams.info(STREAMS.audit.name, { subjects_filter: forged });
    expect(Object.keys(info.state.subjects ?? {})).toEqual([]);
  });

  it("lets a service write records under its own name only", async () => {
    const guru = await nats.connectAs("network-guru");
    opened.push(guru);
    expect(await publishRefusal(guru, auditSubject("vr-manager", "DeleteRouter", a.accountId))).toBeInstanceOf(
      errors.PermissionViolationError,
    );
  });
});
