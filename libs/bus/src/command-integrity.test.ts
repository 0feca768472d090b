import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import {
  STREAMS,
  auditSubject,
  commandConsumerName,
  commandFilter,
  defineCommand,
  type AuditRecord,
} from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import Type from "@sdn/typebox";
import { describe, expect, it } from "vitest";
import { CommandClient } from "./command-client.js";
import { CommandServer } from "./command-server.js";
import { bindHandler } from "./dispatch.js";
import { silentLogger } from "./logger.js";
import { ensureStreams } from "./streams.js";

/*
 * The durable command path against a real nats-server: a consumer deleted or recreated
 * under a service never makes it run a command twice, its health says so while it is
 * missing, and a command no replica ever answers is answered (and audited)
 * MAX_DELIVERIES_EXCEEDED.
 */

const Count = defineCommand({
  service: "ovs-element",
  name: "TestCount",
  delivery: "durable",
  summary: "counts its runs",
  request: Type.Object({ n: Type.Integer() }, { additionalProperties: false }),
  response: Type.Object({ runs: Type.Integer() }),
});
const Hang = defineCommand({
  service: "vr-manager",
  name: "TestHang",
  delivery: "durable",
  summary: "never answers",
  request: Type.Object({}),
  response: Type.Object({}),
});

const bus = useNatsServer(ensureStreams);
const runs = new Map<string, number>();

const countingServer = (consumerCheckMs: number) =>
  new CommandServer(bus.nc, {
    service: "ovs-element",
    logger: silentLogger,
    consumerCheckMs,
    handlers: [
      bindHandler(Count, async (_req, ctx) => {
        const n = (runs.get(ctx.commandId) ?? 0) + 1;
        runs.set(ctx.commandId, n);
        return { data: { runs: n }, details: `run ${n}` };
      }),
    ],
  });

describe("command-path integrity", () => {
  it("reports a deleted consumer, recreates it, and replays nothing that ran", async () => {
    const jsm = await jetstreamManager(bus.nc);
    const commands = new CommandClient(bus.nc);
    const svc = countingServer(300);
    await svc.start();
    const before = [];
    for (let n = 0; n < 5; n++) before.push(await commands.send(Count, { n }, { commandId: `before-${n}` }));
    expect(before.every((a) => a.ok)).toBe(true);
    expect(await svc.health()).toMatchObject({ ok: true });

    await jsm.consumers.delete(STREAMS.commands.name, commandConsumerName("ovs-element"));
    expect(await svc.health()).toMatchObject({ ok: false, detail: expect.stringContaining("missing") });
    // A command sent while the consumer is gone is not lost: the recreated one delivers it.
    const during = commands.send(Count, { n: 99 }, { commandId: "during", timeoutMs: 10_000 });
    await waitFor("the consumer recreated", async () => ((await svc.health()).ok ? true : undefined), 5_000);
    expect(await during).toMatchObject({ ok: true, data: { runs: 1 } });
    expect(await commands.send(Count, { n: 100 }, { commandId: "after" })).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 500));
    for (const [id, n] of runs) expect(n, id).toBe(1);
    expect(runs.size).toBe(7);
    await svc.stop();
  });

  it("runs no command twice when someone recreates the consumer to replay the whole stream", async () => {
    const jsm = await jetstreamManager(bus.nc);
    const name = commandConsumerName("ovs-element");
    await jsm.consumers.delete(STREAMS.commands.name, name);
    // As an operator's `nats consumer add` with the defaults would: deliver everything again.
    await jsm.consumers.add(STREAMS.commands.name, {
      durable_name: name,
      filter_subject: commandFilter("ovs-element"),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const svc = countingServer(60_000);
    await svc.start();
    const commands = new CommandClient(bus.nc);
    expect(await commands.send(Count, { n: 1 }, { commandId: "fresh" })).toMatchObject({ ok: true });
    // Every old command was delivered again, and acknowledged without running.
    await waitFor("every command acknowledged", async () => {
      const info = await jsm.consumers.info(STREAMS.commands.name, name);
      return info.ack_floor.stream_seq >= 8 && info.num_ack_pending === 0 ? true : undefined;
    });
    for (const [id, n] of runs) expect(n, id).toBe(1);
    await svc.stop();
  });

  it("reads no answer back for a command stored after the consumer was seen, even in the consumer's first seconds", async () => {
    const jsm = await jetstreamManager(bus.nc);
    // Born now: every command below is published within the clock-skew margin of its birth.
    await jsm.consumers.delete(STREAMS.commands.name, commandConsumerName("ovs-element")).catch(() => undefined);
    // The replay of the earlier tests' commands (older than the consumer) is still checked: count only ours.
    let lookups = 0;
    const watch = bus.nc.subscribe(`$JS.API.STREAM.MSG.GET.${STREAMS.answers.name}`, {
      callback: (_err, m) => {
        if (m.string().includes("first-seconds-")) lookups++;
      },
    });
    const svc = countingServer(60_000);
    await svc.start();
    const commands = new CommandClient(bus.nc);
    const answers = await Promise.all(
      [1, 2, 3].map((n) => commands.send(Count, { n }, { commandId: `first-seconds-${n}` })),
    );
    expect(answers.map((a) => a.ok)).toEqual([true, true, true]);
    await bus.nc.flush();
    expect(lookups).toBe(0);
    for (const n of [1, 2, 3]) expect(runs.get(`first-seconds-${n}`)).toBe(1);
    watch.unsubscribe();
    await svc.stop();
  });

  it("answers and audits a command that never gets answered MAX_DELIVERIES_EXCEEDED", async () => {
    const hung = new CommandServer(bus.nc, {
      service: "vr-manager",
      logger: silentLogger,
      ackWaitMs: 400,
      maxDeliver: 2,
      maxHandleMs: 200,
      handlers: [bindHandler(Hang, () => new Promise(() => undefined))],
    });
    await hung.start();
    const answer = await new CommandClient(bus.nc).send(Hang, {}, { commandId: "poison-1", timeoutMs: 10_000 });
    expect(answer).toMatchObject({
      ok: false,
      commandId: "poison-1",
      error: { code: "MAX_DELIVERIES_EXCEEDED", message: expect.stringContaining("TestHang was delivered 2 times") },
    });
    // Recorded before it was answered, with that outcome.
    const jsm = await jetstreamManager(bus.nc);
    const stored = await jsm.streams.getMessage(STREAMS.audit.name, {
      last_by_subj: auditSubject("vr-manager", "TestHang", undefined),
    });
    expect(stored?.json<AuditRecord>()).toMatchObject({
      commandId: "poison-1",
      service: "vr-manager",
      command: "TestHang",
      ok: false,
      errorCode: "MAX_DELIVERIES_EXCEEDED",
    });
    // Its two handlers never end: this server is left, not stopped.
  });
});
