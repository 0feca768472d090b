import { jetstreamManager } from "@nats-io/jetstream";
import {
  connect,
  credsAuthenticator,
  errors,
  headers as natsHeaders,
  type NatsConnection,
} from "@nats-io/transport-node";
import { CommandClient, request } from "@sdn/bus";
import {
  AddHost,
  agentSubject,
  answerFilter,
  commandSubject,
  CreateNetwork,
  CreatePublicIpRange,
  eventFilter,
  GetNetwork,
  HEADERS,
  ListNetworks,
  ListVms,
  requestSubject,
  STREAMS,
} from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { startService, type RunningService } from "@sdn/runtime";
import { publishRefusal, subscriptionEnd, TestNatsServer, waitFor } from "@sdn/testkit";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * The attacks of issue 13, against a real nats-server configured as `npm start` configures
 * it: each must fail at the server, whatever the attacker writes in headers.
 */

let nats: TestNatsServer;
let gateway: NatsConnection;
let dataDir: string;
const running: RunningService<never>[] = [];
const opened: NatsConnection[] = [];

/** Connects with `.creds` text and the inbox prefix that comes with it. */
const connectWith = async (creds: string, inboxPrefix: string): Promise<NatsConnection> => {
  const nc = await connect({
    servers: nats.url,
    inboxPrefix,
    authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
    maxReconnectAttempts: 0,
  });
  opened.push(nc);
  return nc;
};

const tenantOf = async (accountId: string, credentialId: string) => {
  const issued = await nats.issuer().issue(accountId, credentialId);
  return { ...issued, nc: await connectWith(issued.creds, issued.inboxPrefix) };
};

const isPermissionError = (err: unknown): boolean =>
  err instanceof errors.PermissionViolationError ||
  (err instanceof errors.RequestError && /Permissions Violation/.test(err.message));

beforeAll(async () => {
  nats = await TestNatsServer.startSecured();
  dataDir = mkdtempSync(join(tmpdir(), "sdn-bus-security-"));
  for (const spec of [networkGuruSpec, hypervisorAgentSpec] as Parameters<typeof startService>[0][]) {
    const svc = await startService(spec, {
      ...nats.serviceEnv(spec.name),
      LOG_LEVEL: "silent",
      SDN_DATA_DIR: dataDir,
      SDN_AGENT_SIMULATOR: "true",
    });
    running.push(svc as unknown as RunningService<never>);
  }
  gateway = await nats.connectAs("api-gateway");
});

afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  await gateway?.close();
  for (const svc of running.reverse()) await svc.stop();
  await nats?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("bus authentication", () => {
  it("refuses a client without credentials", async () => {
    const err = await connect({ servers: nats.url, maxReconnectAttempts: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/Authorization Violation/i);
  });

  it("lets a service's own health check, connected as the service, read its STATS in the service's inbox", async () => {
    // docker/healthcheck.mjs does this in every service image.
    const self = await nats.connectAs("network-guru");
    opened.push(self);
    const reply = await self.request("$SRV.STATS.network-guru", "", { timeout: 5_000 });
    expect(reply.json()).toMatchObject({ name: "network-guru" });
  });

  it("refuses revoked bus credentials and cuts their live connection", async () => {
    const t = await tenantOf("acct-revoked", "bc-revoked");
    expect(t.nc.isClosed()).toBe(false);
    await nats.issuer().pushRevocations({ [t.publicKey]: Math.floor(Date.now() / 1000) });
    await waitFor("the revoked connection to be cut", () => (t.nc.isClosed() ? true : undefined), 10_000);
    const again = await connectWith(t.creds, t.inboxPrefix).catch((e: unknown) => e);
    expect(String((again as Error).message)).toMatch(/Authorization Violation|revoked/i);
    // Credentials issued after the revocation are not caught by it.
    const fresh = await tenantOf("acct-revoked", "bc-fresh");
    expect(fresh.nc.isClosed()).toBe(false);
  });
});

describe("identity from the connection, never from a header", () => {
  it("runs a tenant's CreateNetwork for its own account, whatever role and account its headers claim", async () => {
    const t = await tenantOf("acct-a", "bc-a");
    const client = new CommandClient(t.nc, { kind: "account", accountId: "acct-a" });
    const answer = await client.send(
      CreateNetwork,
      { name: "forged", cidr: "10.70.0.0/24" },
      { role: "admin", accountId: "acct-b", timeoutMs: 10_000 },
    );
    expect(answer).toMatchObject({ ok: true, data: { accountId: "acct-a" } });
    // Naming another account in the body is refused: the tenant is not an admin.
    const other = await client.send(
      CreateNetwork,
      { name: "other", cidr: "10.71.0.0/24", accountId: "acct-b" },
      { role: "admin", accountId: "acct-b", timeoutMs: 10_000 },
    );
    expect(other).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  });

  it("refuses admin commands to a tenant that forges Sdn-Role: admin", async () => {
    const t = await tenantOf("acct-a", "bc-a2");
    const client = new CommandClient(t.nc, { kind: "account", accountId: "acct-a" });
    const forged = { role: "admin" as const, timeoutMs: 10_000 };
    const host = await client.send(
      AddHost,
      { name: "evil", hypervisor: "kvm", address: "10.0.0.9", username: "root", privateKey: "k" },
      forged,
    );
    expect(host).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    const range = await client.send(
      CreatePublicIpRange,
      { cidr: "198.51.100.0/24", startIp: "198.51.100.10", endIp: "198.51.100.20", gateway: "198.51.100.1" },
      forged,
    );
    expect(range).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  });

  it("lets a tenant publish only into its own namespace, not the gateway's or another account's", async () => {
    const t = await tenantOf("acct-a", "bc-a3");
    for (const origin of [
      { kind: "principal", name: "api-gateway" },
      { kind: "admin" },
      { kind: "account", accountId: "acct-b" },
    ] as const) {
      const subject = commandSubject("network-guru", CreateNetwork.name, origin);
      expect(await publishRefusal(t.nc, subject), subject).toBeInstanceOf(errors.PermissionViolationError);
    }
    // Nothing of it reached the command stream.
    const jsm = await jetstreamManager(gateway);
    const info = await jsm.streams.info(STREAMS.commands.name, { subjects_filter: "sdn.cmd.network-guru.*.*" });
    expect(Object.keys(info.state.subjects ?? {})).toEqual([]);
  });

  it("keeps a tenant out of other tenants' answers and events, the agents' subjects and others' inboxes", async () => {
    const t = await tenantOf("acct-a", "bc-a4");
    for (const subject of [
      answerFilter("acct-b"),
      answerFilter(),
      eventFilter({ accountId: "acct-b" }),
      eventFilter(),
      "sdn.agent.>",
      "sdn.cmd.>",
      "_INBOX.>",
      "_INBOX.api-gateway.>",
    ]) {
      expect(await subscriptionEnd(t.nc, subject), subject).toBeInstanceOf(errors.PermissionViolationError);
    }
    // Its own answers and events it may read.
    expect(await subscriptionEnd(t.nc, answerFilter("acct-a"))).toBeUndefined();
    expect(await subscriptionEnd(t.nc, eventFilter({ accountId: "acct-a" }))).toBeUndefined();
  });

  it("files a tenant's answers and events under its account", async () => {
    const t = await tenantOf("acct-c", "bc-c");
    const events: string[] = [];
    t.nc.subscribe(eventFilter({ accountId: "acct-c" }), { callback: (_e, m) => void events.push(m.subject) });
    await t.nc.flush();
    const client = new CommandClient(t.nc, { kind: "account", accountId: "acct-c" });
    expect(await client.send(CreateNetwork, { name: "c", cidr: "10.72.0.0/24" }, { timeoutMs: 10_000 })).toMatchObject({
      ok: true,
    });
    await waitFor("the tenant's NetworkDesigned event", () =>
      events.includes("sdn.evt.acct-c.network-guru.NetworkDesigned") ? true : undefined,
    );
  });
});

describe("reads on the request tier: identity from the connection too", () => {
  it("lets a tenant read its own network and never another tenant's, whatever its headers claim", async () => {
    const a = await tenantOf("acct-ra", "bc-ra");
    const asA = new CommandClient(a.nc, { kind: "account", accountId: "acct-ra" });
    const created = await asA.send(CreateNetwork, { name: "ra", cidr: "10.74.0.0/24" }, { timeoutMs: 10_000 });
    const networkId = (created as { data: { id: string } }).data.id;
    expect(await asA.send(GetNetwork, { networkId })).toMatchObject({ ok: true, data: { accountId: "acct-ra" } });
    const b = await tenantOf("acct-rb", "bc-rb");
    const asB = new CommandClient(b.nc, { kind: "account", accountId: "acct-rb" });
    const forged = { role: "admin" as const, accountId: "acct-ra" };
    const stolen = await asB.send(GetNetwork, { networkId }, forged);
    expect(stolen.ok).toBe(false);
    const listed = await asB.send(ListNetworks, {}, forged);
    expect(listed).toMatchObject({ ok: true, data: { networks: [] } });
    // Asking in the owner's, the admin's or the gateway's name is refused by the server.
    for (const origin of [
      { kind: "account", accountId: "acct-ra" },
      { kind: "admin" },
      { kind: "principal", name: "api-gateway" },
    ] as const) {
      const subject = requestSubject("network-guru", GetNetwork.name, origin);
      const err = await b.nc
        .request(subject, JSON.stringify({ networkId }), { timeout: 3_000 })
        .catch((e: unknown) => e);
      expect(isPermissionError(err), `${subject}: ${String(err)}`).toBe(true);
    }
    // The gateway vouches for the account it names, on this tier as on the durable one.
    const viaGateway = await new CommandClient(gateway).send(GetNetwork, { networkId }, { accountId: "acct-rb" });
    expect(viaGateway.ok).toBe(false);
    const owner = await new CommandClient(gateway).send(GetNetwork, { networkId }, { accountId: "acct-ra" });
    expect(owner).toMatchObject({ ok: true, data: { id: networkId } });
  });

  it("lets no tenant or other service take the requests or answer in a service's place", async () => {
    const t = await tenantOf("acct-rc", "bc-rc");
    const victim = await tenantOf("acct-rd", "bc-rd");
    const element = await nats.connectAs("ovs-element");
    opened.push(element);
    const guruRequests = [
      "sdn.req.>",
      "sdn.req.network-guru.*.GetNetwork",
      "sdn.req.network-guru.acct.*.GetNetwork",
      requestSubject("network-guru", GetNetwork.name, { kind: "account", accountId: "acct-rc" }),
    ];
    for (const subject of guruRequests) {
      expect(await subscriptionEnd(t.nc, subject), subject).toBeInstanceOf(errors.PermissionViolationError);
      expect(await subscriptionEnd(element, subject), `element: ${subject}`).toBeInstanceOf(
        errors.PermissionViolationError,
      );
    }
    // Replies go to inboxes only their services may publish to.
    for (const inbox of [`${victim.inboxPrefix}.forged`, "_INBOX.api-gateway.forged", "_INBOX.ovs-element.forged"]) {
      expect(await publishRefusal(t.nc, inbox), inbox).toBeInstanceOf(errors.PermissionViolationError);
    }
    // A tenant's own inbox is under the bus credentials' root that services answer to.
    expect(victim.inboxPrefix).toBe("_INBOX.creds.bc-rd");
  });
});

describe("least privilege of the services", () => {
  it("does not let the guru drive hosts: no agent calls, no agent commands, no serving agent subjects", async () => {
    const guru = await nats.connectAs("network-guru");
    opened.push(guru);
    const call = await request(guru, ListVms, agentSubject("host-1", ListVms.name), {}, { timeoutMs: 3_000 }).catch(
      (e: unknown) => e,
    );
    expect(isPermissionError(call), String(call)).toBe(true);
    const addHost = commandSubject("hypervisor-agent", AddHost.name, { kind: "principal", name: "network-guru" });
    expect(await publishRefusal(guru, addHost)).toBeInstanceOf(errors.PermissionViolationError);
    expect(await subscriptionEnd(guru, "sdn.agent.>")).toBeInstanceOf(errors.PermissionViolationError);
    // Nor may it pose as the gateway.
    const asGateway = commandSubject("hypervisor-agent", AddHost.name, { kind: "principal", name: "api-gateway" });
    expect(await publishRefusal(guru, asGateway)).toBeInstanceOf(errors.PermissionViolationError);
  });

  it("does not let a service read another service's commands through a consumer of its own", async () => {
    const guru = await nats.connectAs("network-guru");
    opened.push(guru);
    const jsm = await jetstreamManager(guru);
    for (const durable_name of ["cmd-network-guru", "sneaky"]) {
      const err = await jsm.consumers
        .add(STREAMS.commands.name, { durable_name, filter_subject: "sdn.cmd.hypervisor-agent.>" })
        .catch((e: unknown) => e);
      expect(isPermissionError(err), `${durable_name}: ${String(err)}`).toBe(true);
    }
  });

  it("lets the vr-manager call only RelayToRouter on agents, and only the agent serve them", async () => {
    const vr = await nats.connectAs("vr-manager");
    opened.push(vr);
    expect(await publishRefusal(vr, agentSubject("host-1", ListVms.name))).toBeInstanceOf(
      errors.PermissionViolationError,
    );
    const element = await nats.connectAs("ovs-element");
    opened.push(element);
    expect(await subscriptionEnd(element, "sdn.agent.>")).toBeInstanceOf(errors.PermissionViolationError);
  });

  it("takes the gateway's headers as its word: the gateway is the one principal acting for any account", async () => {
    const h = natsHeaders();
    h.set(HEADERS.commandId, "gw-1");
    h.set(HEADERS.role, "tenant");
    h.set(HEADERS.accountId, "acct-d");
    const answers = gateway.subscribe(answerFilter("acct-d"), { max: 1 });
    gateway.publish(
      commandSubject("network-guru", CreateNetwork.name, { kind: "principal", name: "api-gateway" }),
      JSON.stringify({ name: "d", cidr: "10.73.0.0/24" }),
      { headers: h },
    );
    for await (const m of answers) expect(m.json()).toMatchObject({ ok: true, data: { accountId: "acct-d" } });
  });
});
