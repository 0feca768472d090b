import { jetstreamManager } from "@nats-io/jetstream";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import {
  CommandError,
  InfrastructureError,
  defineCommand,
  defineEvent,
  HEADERS,
  STREAMS,
  commandSubject,
  eventSubject,
} from "@sdn/contracts";
import { TestNatsServer, waitFor } from "@sdn/testkit";
import Type from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandClient, GATEWAY_ORIGIN } from "./command-client.js";
import { CommandServer } from "./command-server.js";
import { bindHandler } from "./dispatch.js";
import { CommandTimeoutError, NoResponderError } from "./errors.js";
import { EventPublisher } from "./events.js";
import { JsonBucket } from "./kv.js";
import { silentLogger } from "./logger.js";
import { registerMicro } from "./micro.js";
import { request, serveRequests } from "./request-tier.js";
import { ensureStreams } from "./streams.js";

const Reserve = defineCommand({
  service: "network-guru",
  name: "TestReserve",
  delivery: "durable",
  summary: "test command",
  request: Type.Object(
    { nicId: Type.String({ minLength: 1 }), count: Type.Integer({ minimum: 1 }) },
    { additionalProperties: false },
  ),
  response: Type.Object({ nicId: Type.String(), calls: Type.Integer() }),
});
const Explode = defineCommand({
  service: "network-guru",
  name: "TestExplode",
  delivery: "durable",
  summary: "test command that fails",
  request: Type.Object({ kind: Type.Enum(["internal", "conflict", "host"]) }),
  response: Type.Object({}),
});
const Ping = defineCommand({
  service: "hypervisor-agent",
  name: "Ping",
  delivery: "request",
  summary: "test agent command",
  request: Type.Object({ n: Type.Integer() }, { additionalProperties: false }),
  response: Type.Object({ n: Type.Integer() }),
});

let server: TestNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await TestNatsServer.start();
  nc = await connect({ servers: server.url });
  await ensureStreams(nc);
});

afterAll(async () => {
  await nc?.close();
  await server?.dispose();
});

/** A guru-like command server whose handler counts its calls per NIC id. */
const startGuru = async () => {
  const calls = new Map<string, number>();
  const srv = new CommandServer(nc, {
    service: "network-guru",
    logger: silentLogger,
    handlers: [
      bindHandler(Reserve, async (req) => {
        const n = (calls.get(req.nicId) ?? 0) + 1;
        calls.set(req.nicId, n);
        return { data: { nicId: req.nicId, calls: n }, details: `reserved for ${req.nicId}` };
      }),
      bindHandler(Explode, async (req) => {
        if (req.kind === "conflict") throw new CommandError("CONFLICT", "address 10.0.0.5 is taken");
        if (req.kind === "host") {
          const detail = "PlugVif on host xen-7 (192.0.2.7): vif 3 of VM other-tenant-vm is busy";
          throw new InfrastructureError("UNAVAILABLE", detail, "the host could not complete PlugVif (UNAVAILABLE)");
        }
        throw new Error("database password hunter2 rejected");
      }),
    ],
  });
  await srv.start();
  return { srv, calls };
};

describe("durable command tier", () => {
  it("answers a valid command with its typed data", async () => {
    const { srv } = await startGuru();
    try {
      const answer = await new CommandClient(nc).send(Reserve, { nicId: "nic-a", count: 1 });
      expect(answer).toMatchObject({ ok: true, data: { nicId: "nic-a", calls: 1 }, details: "reserved for nic-a" });
    } finally {
      await srv.stop();
    }
  });

  it("answers malformed commands published straight on the bus with INVALID_COMMAND, and keeps serving", async () => {
    const { srv } = await startGuru();
    const client = new CommandClient(nc);
    try {
      const cases: [string, string, RegExp][] = [
        ["bad-json", "{not json", /not valid UTF-8 JSON/],
        ["nul-byte", "\u0000", /not valid UTF-8 JSON/],
        ["not-object", "[1,2]", /TestReserve is invalid/],
        ["wrong-type", JSON.stringify({ nicId: "x", count: "two" }), /\/count: must be integer/],
        ["unknown-field", JSON.stringify({ nicId: "x", count: 1, admin: true }), /unknown property 'admin'/],
        ["missing", JSON.stringify({ count: 1 }), /missing required property 'nicId'/],
      ];
      for (const [id, body, reason] of cases) {
        const waiting = client.awaitAnswer(Reserve, id, 5_000, undefined);
        const h = natsHeaders();
        h.set(HEADERS.commandId, id);
        nc.publish(commandSubject("network-guru", "TestReserve", GATEWAY_ORIGIN), body, { headers: h });
        const answer = await waiting.answer;
        expect(answer.ok, id).toBe(false);
        if (!answer.ok) {
          expect(answer.error.code).toBe("INVALID_COMMAND");
          expect(answer.error.message).toMatch(reason);
        }
      }
      const bytes = new Uint8Array([0xff, 0xfe, 0x7b]);
      const waiting = client.awaitAnswer(Reserve, "bad-bytes", 5_000, undefined);
      const h = natsHeaders();
      h.set(HEADERS.commandId, "bad-bytes");
      nc.publish(commandSubject("network-guru", "TestReserve", GATEWAY_ORIGIN), bytes, { headers: h });
      expect((await waiting.answer).ok).toBe(false);
      const after = await client.send(Reserve, { nicId: "still-up", count: 1 });
      expect(after.ok).toBe(true);
    } finally {
      await srv.stop();
    }
  });

  it("answers an unknown command name instead of dropping it", async () => {
    const { srv } = await startGuru();
    try {
      const ghost = { ...Reserve, name: "NoSuchCommand" };
      const answer = await new CommandClient(nc).send(ghost, { nicId: "x", count: 1 });
      expect(answer).toMatchObject({
        ok: false,
        error: { code: "INVALID_COMMAND", message: "unknown command 'NoSuchCommand'" },
      });
    } finally {
      await srv.stop();
    }
  });

  it("turns a throwing handler into INTERNAL without leaking its message, and a CommandError into its code", async () => {
    const { srv } = await startGuru();
    const client = new CommandClient(nc);
    try {
      const internal = await client.send(Explode, { kind: "internal" });
      expect(internal.ok).toBe(false);
      if (!internal.ok) {
        expect(internal.error.code).toBe("INTERNAL");
        expect(internal.error.message).not.toContain("hunter2");
        expect(internal.error.message).toContain(internal.commandId);
      }
      const conflict = await client.send(Explode, { kind: "conflict" });
      expect(conflict).toMatchObject({ ok: false, error: { code: "CONFLICT", message: "address 10.0.0.5 is taken" } });
      expect((await client.send(Reserve, { nicId: "after-throw", count: 1 })).ok).toBe(true);
    } finally {
      await srv.stop();
    }
  });

  it("shows tenants an infrastructure error without its host details, and admins whole", async () => {
    const { srv } = await startGuru();
    const client = new CommandClient(nc);
    try {
      const tenant = await client.send(Explode, { kind: "host" }, { role: "tenant", accountId: "acct-a" });
      expect(tenant).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
      if (!tenant.ok) {
        expect(tenant.error.message).toContain("the host could not complete PlugVif");
        for (const secret of ["xen-7", "192.0.2.7", "other-tenant-vm"])
          expect(tenant.error.message).not.toContain(secret);
      }
      const admin = await client.send(Explode, { kind: "host" }, { role: "admin" });
      expect(admin).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
      if (!admin.ok) expect(admin.error.message).toContain("xen-7 (192.0.2.7)");
    } finally {
      await srv.stop();
    }
  });

  it("runs a command id once however often it is sent, and gives every sender the first answer", async () => {
    const { srv, calls } = await startGuru();
    const client = new CommandClient(nc);
    try {
      const first = await client.send(Reserve, { nicId: "nic-dup", count: 1 }, { commandId: "cmd-dup-1" });
      const again = await Promise.all(
        [1, 2, 3].map(() => client.send(Reserve, { nicId: "nic-dup", count: 1 }, { commandId: "cmd-dup-1" })),
      );
      expect(calls.get("nic-dup")).toBe(1);
      for (const a of again) expect(a).toEqual(first);
    } finally {
      await srv.stop();
    }
  });

  it("keeps a command sent while no replica runs, and answers it when one starts", async () => {
    const client = new CommandClient(nc);
    const { commandId } = await client.publish(Reserve, { nicId: "nic-later", count: 1 });
    const waiting = client.awaitAnswer(Reserve, commandId, 10_000, undefined);
    const { srv } = await startGuru();
    try {
      expect(await waiting.answer).toMatchObject({ ok: true, data: { nicId: "nic-later" } });
    } finally {
      await srv.stop();
    }
  });

  it("times out with an error naming the command and its subject", async () => {
    const Unserved = { ...Reserve, service: "vr-manager" as const, name: "TestUnserved" };
    const err = await new CommandClient(nc)
      .send(Unserved, { nicId: "x", count: 1 }, { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect((err as Error).message).toBe(
      "no answer to TestUnserved on sdn.cmd.vr-manager.api-gateway.TestUnserved within 300 ms",
    );
  });

  it("finds a stored answer after the sender stopped waiting", async () => {
    const { srv } = await startGuru();
    const client = new CommandClient(nc);
    try {
      const { commandId } = await client.publish(Reserve, { nicId: "nic-stored", count: 1 });
      const stored = await waitFor("stored answer", () => client.findAnswer(Reserve, commandId, undefined));
      expect(stored).toMatchObject({ ok: true, commandId, data: { nicId: "nic-stored" } });
      expect(await client.findAnswer(Reserve, "never-sent", undefined)).toBeUndefined();
    } finally {
      await srv.stop();
    }
  });
});

describe("request/reply tier", () => {
  it("answers, validates, and reports a missing responder", async () => {
    const server = serveRequests(nc, {
      prefix: "sdn.agent.host-1",
      logger: silentLogger,
      handlers: [bindHandler(Ping, async (req) => ({ data: { n: req.n + 1 }, details: "pong" }))],
    });
    try {
      expect(await request(nc, Ping, "sdn.agent.host-1.Ping", { n: 41 })).toMatchObject({ ok: true, data: { n: 42 } });
      const bad = await request(nc, Ping, "sdn.agent.host-1.Ping", { n: "x" } as unknown as { n: number });
      expect(bad).toMatchObject({ ok: false, error: { code: "INVALID_COMMAND" } });
      const err = await request(nc, Ping, "sdn.agent.host-2.Ping", { n: 1 }, { timeoutMs: 500 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NoResponderError);
      expect((err as Error).message).toContain("sdn.agent.host-2.Ping");
    } finally {
      await server.drain();
    }
  });

  /** A server whose Ping handler waits for `gate`; `running` resolves once a request reached it. */
  const gatedServer = (prefix: string, gate: Promise<void>) => {
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => (started = r));
    const server = serveRequests(nc, {
      prefix,
      logger: silentLogger,
      handlers: [
        bindHandler(Ping, async (req) => {
          started();
          await gate;
          return { data: { n: req.n + 1 }, details: "slow pong" };
        }),
      ],
    });
    return { server, running };
  };

  it("drains: a request in flight is still answered, a new one is refused at once", async () => {
    let release: () => void = () => undefined;
    const { server, running } = gatedServer("sdn.agent.host-3", new Promise<void>((r) => (release = r)));
    const slow = request(nc, Ping, "sdn.agent.host-3.Ping", { n: 1 }, { timeoutMs: 10_000 });
    await running;
    let drained = false;
    const draining = server.drain().then(() => (drained = true));
    const refused = await request(nc, Ping, "sdn.agent.host-3.Ping", { n: 2 }, { timeoutMs: 10_000 }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(NoResponderError);
    expect(drained).toBe(false);
    release();
    expect(await slow).toMatchObject({ ok: true, data: { n: 2 } });
    await draining;
    expect(drained).toBe(true);
  });

  it("ends a drain at its bound when a handler never finishes", async () => {
    const { server, running } = gatedServer("sdn.agent.host-4", new Promise<void>(() => undefined));
    const stuck = request(nc, Ping, "sdn.agent.host-4.Ping", { n: 1 }, { timeoutMs: 1500 }).catch((e: unknown) => e);
    await running;
    const begun = performance.now();
    await server.drain(300);
    expect(performance.now() - begun).toBeGreaterThanOrEqual(250);
    expect(await stuck).toBeInstanceOf(CommandTimeoutError);
  });
});

describe("events", () => {
  it("publishes an enveloped event to the event stream, once per event id", async () => {
    const Happened = defineEvent({
      service: "ovs-element",
      name: "TestHappened",
      summary: "t",
      data: Type.Object({ x: Type.Integer() }),
    });
    const events = new EventPublisher(nc);
    await events.publish(Happened, { x: 1 }, { accountId: "acct-1", eventId: "evt-1" });
    await events.publish(Happened, { x: 1 }, { accountId: "acct-1", eventId: "evt-1" });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAMS.events.name, {
      subjects_filter: eventSubject("ovs-element", "TestHappened", "acct-1"),
    });
    expect(info.state.subjects?.[eventSubject("ovs-element", "TestHappened", "acct-1")]).toBe(1);
    const stored = await jsm.streams.getMessage(STREAMS.events.name, {
      last_by_subj: eventSubject("ovs-element", "TestHappened", "acct-1"),
    });
    expect(stored?.json()).toMatchObject({
      eventId: "evt-1",
      type: "TestHappened",
      service: "ovs-element",
      accountId: "acct-1",
      data: { x: 1 },
    });
  });
});

describe("KV compare-and-swap", () => {
  it("loses no update when many writers race on one key", async () => {
    const bucket = await JsonBucket.open<{ n: number }>(nc, "test_counter");
    const nc2 = await connect({ servers: server.url });
    const other = await JsonBucket.open<{ n: number }>(nc2, "test_counter");
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? bucket : other).update("c", (cur) => ({ n: (cur?.n ?? 0) + 1 }), 200),
      ),
    );
    expect((await bucket.get("c"))?.value.n).toBe(100);
    expect(await bucket.createIfAbsent("c", { n: 0 })).toBe(false);
    expect(await bucket.createIfAbsent("d", { n: 0 })).toBe(true);
    await nc2.close();
  });
});

describe("KV key listing", () => {
  it("lists the live keys, filtered, also while others write and delete keys", async () => {
    const bucket = await JsonBucket.open<{ n: number }>(nc, "test_listing");
    expect(await bucket.keys()).toEqual([]);
    for (let i = 0; i < 2; i++) await bucket.createIfAbsent(`stable.${i}`, { n: i });
    await bucket.createIfAbsent("gone.1", { n: 0 });
    await bucket.delete("gone.1");
    const stable = ["stable.0", "stable.1"];
    expect((await bucket.keys()).sort()).toEqual(stable);
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        const key = `churn.${i % 5}`;
        await bucket.update(key, () => ({ n: i }));
        if (i % 3 === 0) await bucket.delete(key);
      }
    })();
    try {
      // nats.js's kv.keys() waited here for its 5 s idle heartbeat, or for good: a listing
      // never waits for anything but the bucket's answers, so 4 s is ample even on a slow machine.
      for (let round = 0; round < 200; round++) {
        const started = performance.now();
        const listings = await Promise.all([bucket.keys(), bucket.keys(), bucket.keys("stable.*")]);
        expect(performance.now() - started).toBeLessThan(4_000);
        for (const keys of listings) {
          expect(keys.filter((k) => !k.startsWith("churn."))).toEqual(expect.arrayContaining(stable));
          expect(keys.filter((k) => k.startsWith("gone."))).toEqual([]);
        }
      }
    } finally {
      churning = false;
      await churn;
    }
    const live: string[] = [];
    for (let i = 0; i < 5; i++) if ((await bucket.get(`churn.${i}`)) !== undefined) live.push(`churn.${i}`);
    expect((await bucket.keys()).sort()).toEqual([...live, ...stable].sort());
    expect((await bucket.keys("stable.*")).sort()).toEqual(stable);
  });
});

describe("NATS services framework", () => {
  it("answers $SRV.PING, $SRV.INFO and $SRV.STATS and serves Health", async () => {
    const svc = await registerMicro(nc, {
      name: "network-guru",
      version: "9.9.9",
      description: "test",
      instanceId: "guru-x",
      logger: silentLogger,
      health: () => Promise.resolve({ status: "up" }),
    });
    try {
      const ping = (await nc.request("$SRV.PING.network-guru", "", { timeout: 1000 })).json<{
        name: string;
        type: string;
      }>();
      expect(ping).toMatchObject({ name: "network-guru", type: "io.nats.micro.v1.ping_response" });
      const info = (await nc.request("$SRV.INFO.network-guru", "", { timeout: 1000 })).json<{
        version: string;
        endpoints: { subject: string }[];
      }>();
      expect(info.version).toBe("9.9.9");
      expect(info.endpoints.map((e) => e.subject)).toContain("sdn.svc.network-guru.Health");
      expect((await nc.request("sdn.svc.network-guru.Health", "", { timeout: 1000 })).json()).toEqual({ status: "up" });
      const stats = (await nc.request("$SRV.STATS.network-guru", "", { timeout: 1000 })).json<{
        endpoints: { num_requests: number }[];
      }>();
      expect(stats.endpoints[0]?.num_requests).toBe(1);
    } finally {
      await svc.service.stop();
    }
  });
});
