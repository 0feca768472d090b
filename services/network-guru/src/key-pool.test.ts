import { connect, type NatsConnection } from "@nats-io/transport-node";
import { CommandError } from "@sdn/contracts";
import { JsonBucket } from "@sdn/bus";
import { TestNatsServer } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPool } from "./key-pool.js";
import type { KeyClaim } from "./store.js";

let nats: TestNatsServer;
let nc: NatsConnection;
let bucketNo = 0;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

/** A pool on a fresh bucket; `holds` says which network records which key. */
const pool = async (min: number, max: number, holds = new Map<string, number>()) => {
  const claims = await JsonBucket.open<KeyClaim>(nc, `keys_${++bucketNo}`);
  return {
    claims,
    pool: new KeyPool(
      claims,
      { noun: "GRE key", settings: "SDN_GRE_KEY_MIN..SDN_GRE_KEY_MAX" },
      { min, max },
      async (net, key) => holds.get(net) === key,
    ),
  };
};

const conflictOf = async (p: Promise<unknown>): Promise<CommandError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommandError);
  return err as CommandError;
};

describe("the GRE key pool", () => {
  it("hands out keys above 2^31-1, up to 2^32-1", async () => {
    const { pool: p } = await pool(4294967290, 4294967295);
    const keys = await Promise.all(Array.from({ length: 6 }, (_, i) => p.claim(`net-${i}`, `cmd-${i}`)));
    expect(new Set(keys).size).toBe(6);
    expect(Math.min(...keys)).toBe(4294967290);
    expect(Math.max(...keys)).toBe(4294967295);
  });

  it("answers CONFLICT naming the range when exhausted, and reuses a returned key", async () => {
    const { pool: p } = await pool(5, 7);
    const keys = [await p.claim("a", "c1"), await p.claim("b", "c2"), await p.claim("c", "c3")];
    expect([...keys].sort()).toEqual([5, 6, 7]);
    const err = await conflictOf(p.claim("d", "c4"));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain("the GRE key pool 5..7 is exhausted");
    const bKey = keys[1] as number;
    await p.release(bKey, "someone-else"); // not the holder: no effect
    await expect(p.claim("d", "c5")).rejects.toThrow(/exhausted/);
    await p.release(bKey, "b");
    expect(await p.claim("d", "c6")).toBe(bKey);
  });

  it("never gives one key to two networks claiming at once", async () => {
    const { pool: p } = await pool(100, 139);
    const keys = await Promise.all(Array.from({ length: 40 }, (_, i) => p.claim(`net-${i}`, `cmd-${i}`)));
    expect(new Set(keys).size).toBe(40);
    expect(keys.every((k) => k >= 100 && k <= 139)).toBe(true);
    await expect(p.claim("one-too-many", "x")).rejects.toThrow(/exhausted/);
  });

  it("lets a redelivered command adopt its own claim instead of leaking it", async () => {
    const { pool: p } = await pool(1, 4294967295);
    const first = await p.claim("net-x", "cmd-1");
    expect(await p.claim("net-x", "cmd-1")).toBe(first);
    expect(await p.claim("net-x", "cmd-2")).not.toBe(first);
  });

  it("reclaims, at exhaustion, a stale claim whose network does not record the key", async () => {
    const holds = new Map([["live", 2]]);
    const { claims, pool: p } = await pool(1, 2, holds);
    const old = new Date(Date.now() - 120_000).toISOString();
    await claims.tryCreate("1", { networkId: "crashed", commandId: "c0", claimedAt: old });
    await claims.tryCreate("2", { networkId: "live", commandId: "c1", claimedAt: old });
    expect(await p.claim("new", "c2")).toBe(1);
    await expect(p.claim("newer", "c3")).rejects.toThrow(/exhausted/);
  });
});
