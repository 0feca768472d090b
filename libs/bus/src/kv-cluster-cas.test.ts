import { connect, type NatsConnection } from "@nats-io/transport-node";
import { TestNatsCluster } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonBucket } from "./kv.js";
import { useStorage } from "./storage.js";

describe("compare-and-swap on a three-server cluster", () => {
  let cluster: TestNatsCluster;
  const conns: NatsConnection[] = [];
  const buckets: JsonBucket<{ by: number; round: number }>[] = [];

  beforeAll(async () => {
    cluster = await TestNatsCluster.start(3);
    for (const name of cluster.names) {
      const nc = await connect({ servers: cluster.urlOf(name) });
      useStorage(nc, { replicas: 3 });
      conns.push(nc);
    }
    for (const nc of conns) buckets.push(await JsonBucket.open(nc, "sdn_test_cas"));
  }, 60_000);

  afterAll(async () => {
    for (const nc of conns) await nc.close();
    await cluster?.dispose();
  });

  it("lets exactly one of many writers expecting the same revision win", async () => {
    const first = buckets[0]!;
    let revision = await first.put("k", { by: -1, round: -1 });
    const wrong: string[] = [];
    for (let round = 0; round < 100; round++) {
      const won = await Promise.all(
        Array.from({ length: 6 }, (_, i) => buckets[i % buckets.length]!.tryUpdate("k", { by: i, round }, revision)),
      );
      const winners = won.flatMap((r, i) => (r === undefined ? [] : [i]));
      const now = await first.get("k");
      // Exactly one writer is told it won, and the key holds what that writer wrote.
      if (winners.length !== 1 || now?.value.by !== winners[0] || now?.value.round !== round) {
        wrong.push(`round ${round}: winners ${winners.join(",")}, stored ${JSON.stringify(now?.value)}`);
      }
      revision = now!.revision;
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it("tells a conditional delete it lost when an update racing with it was stored after it", async () => {
    const wrong: string[] = [];
    for (let round = 0; round < 50; round++) {
      const key = `d${round}`;
      const revision = await buckets[0]!.put(key, { by: -1, round });
      const [deleted, updated] = await Promise.all([
        buckets[1]!.tryDelete(key, revision),
        buckets[2]!.tryUpdate(key, { by: 2, round }, revision),
      ]);
      const now = await buckets[0]!.get(key);
      // One of the two took effect, and it is the one told so.
      if (deleted === (updated !== undefined) || (now !== undefined) !== (updated !== undefined)) {
        wrong.push(`round ${round}: deleted ${deleted}, updated ${updated}, stored ${JSON.stringify(now?.value)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it("lets exactly one of many writers create a key", async () => {
    let doubled = 0;
    for (let round = 0; round < 100; round++) {
      const won = await Promise.all(
        Array.from({ length: 6 }, (_, i) => buckets[i % buckets.length]!.tryCreate(`c${round}`, { by: i, round })),
      );
      if (won.filter((r) => r !== undefined).length > 1) doubled++;
    }
    expect(doubled).toBe(0);
  }, 120_000);
});
