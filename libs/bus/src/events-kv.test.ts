import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { defineEvent, STREAMS, eventSubject } from "@sdn/contracts";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import Type from "@sdn/typebox";
import { describe, expect, it } from "vitest";
import { EventPublisher } from "./events.js";
import { JsonBucket } from "./kv.js";
import { ensureStreams } from "./streams.js";

const bus = useNatsServer(ensureStreams);

describe("events", () => {
  it("publishes an enveloped event to the event stream, once per event id", async () => {
    const Happened = defineEvent({
      service: "ovs-element",
      name: "TestHappened",
      summary: "t",
      data: Type.Object({ x: Type.Integer() }),
    });
    const events = new EventPublisher(bus.nc);
    await events.publish(Happened, { x: 1 }, { accountId: "acct-1", eventId: "evt-1" });
    await events.publish(Happened, { x: 1 }, { accountId: "acct-1", eventId: "evt-1" });
    const jsm = await jetstreamManager(bus.nc);
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
    const bucket = await JsonBucket.open<{ n: number }>(bus.nc, "test_counter");
    const nc2 = await connect({ servers: bus.server.url });
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
    const bucket = await JsonBucket.open<{ n: number }>(bus.nc, "test_listing");
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
