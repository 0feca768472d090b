import { headers as natsHeaders } from "@nats-io/transport-node";
import { CommandError, InfrastructureError, defineCommand, HEADERS, commandSubject } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import Type from "@sdn/typebox";
import { describe, expect, it } from "vitest";
import { CommandClient, GATEWAY_ORIGIN } from "./command-client.js";
import { CommandServer } from "./command-server.js";
import { bindHandler } from "./dispatch.js";
import { CommandTimeoutError } from "./errors.js";
import { silentLogger } from "./logger.js";
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

const bus = useNatsServer(ensureStreams);

/** A guru-like command server whose handler counts its calls per NIC id. */
const startGuru = async () => {
  const calls = new Map<string, number>();
  const srv = new CommandServer(bus.nc, {
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
      const answer = await new CommandClient(bus.nc).send(Reserve, { nicId: "nic-a", count: 1 });
      expect(answer).toMatchObject({ ok: true, data: { nicId: "nic-a", calls: 1 }, details: "reserved for nic-a" });
    } finally {
      await srv.stop();
    }
  });

  it("answers malformed commands published straight on the bus with INVALID_COMMAND, and keeps serving", async () => {
    const { srv } = await startGuru();
    const client = new CommandClient(bus.nc);
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
        bus.nc.publish(commandSubject("network-guru", "TestReserve", GATEWAY_ORIGIN), body, { headers: h });
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
      bus.nc.publish(commandSubject("network-guru", "TestReserve", GATEWAY_ORIGIN), bytes, { headers: h });
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
      const answer = await new CommandClient(bus.nc).send(ghost, { nicId: "x", count: 1 });
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
    const client = new CommandClient(bus.nc);
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
    const client = new CommandClient(bus.nc);
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
    const client = new CommandClient(bus.nc);
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
    const client = new CommandClient(bus.nc);
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
    const err = await new CommandClient(bus.nc)
      .send(Unserved, { nicId: "x", count: 1 }, { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect((err as Error).message).toBe(
      "no answer to TestUnserved on sdn.cmd.vr-manager.api-gateway.TestUnserved within 300 ms",
    );
  });

  it("finds a stored answer after the sender stopped waiting", async () => {
    const { srv } = await startGuru();
    const client = new CommandClient(bus.nc);
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
