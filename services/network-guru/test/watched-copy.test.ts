import type { CommandContext } from "@sdn/bus";
import { ListNicAddresses, ReserveNicAddress } from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Guru } from "../src/guru.js";
import { migrateLegacyAddresses } from "../src/legacy-addresses.js";
import { GuruStore } from "../src/store.js";
import { WatchedBlocks } from "../src/watched-blocks.js";
import { GuruHarness, tenant } from "./harness.js";

const hana = tenant("hana");
let h: GuruHarness;
let a: Guru;
let b: Guru;
let commands = 0;

/** A context as a delivered command has one: each call is a command of its own. */
const ctx = (): CommandContext => ({
  commandId: `direct-${++commands}`,
  accountId: "hana",
  role: "tenant",
  deliveryCount: 1,
});

/** How far behind the bucket each replica's watch is held here: far more than on a real bus. */
const LAG_MS = 150;

/**
 * Delays what the replica's watch delivers by LAG_MS (in order): its copy of the blocks then
 * misses the other replica's writes for that long, as a busy bus may, every time.
 */
const lag = (guru: Guru): void => {
  const copy = guru.addressBlocks as unknown as { delivered: (...args: unknown[]) => void };
  const delivered = copy.delivered.bind(copy);
  copy.delivered = (...args) => void setTimeout(() => delivered(...args), LAG_MS);
};

beforeAll(async () => {
  h = await GuruHarness.start(2);
  const [first, second] = h.replicas.map((r) => r.state as Guru | undefined);
  if (first === undefined || second === undefined) throw new Error("two replicas were started");
  [a, b] = [first, second];
  lag(a);
  lag(b);
});

afterAll(async () => {
  await h?.stop();
});

// Each replica reserves from its own copy of the blocks; these call the two replicas directly,
// one right after the other, so the second's copy has not heard of the first's write yet.
describe("the replicas' watched copies of the address blocks", () => {
  it("let a release through one replica win over the other's copy, at once", async () => {
    // One block: a reservation answers without waiting for its watch, so the other copy lags it.
    const net = await h.network("released", "10.60.0.0/24", hana);
    for (let i = 0; i < 8; i++) {
      const held = await a.guestIpam.reserve({ networkId: net.id, nicId: `r-${i}` }, ctx());
      expect(await b.guestIpam.release(net.id, `r-${i}`, ctx())).toBe(held.ip);
      // A's copy still showed the NIC at its old address: asking for another is not a conflict.
      const again = await a.guestIpam.reserve({ networkId: net.id, nicId: `r-${i}`, ip: `10.60.0.${200 + i}` }, ctx());
      expect(again.ip).toBe(`10.60.0.${200 + i}`);
      expect(await b.guestIpam.release(net.id, `r-${i}`, ctx())).toBe(again.ip);
      expect(await a.guestIpam.release(net.id, `r-${i}`, ctx())).toBeNull();
    }
  }, 60_000);

  it("answer a retry through the other replica with the address already held, never a second one", async () => {
    const net = await h.network("retried", "10.61.0.0/16", hana);
    for (let i = 0; i < 8; i++) {
      const [first, second] = await Promise.all([
        a.guestIpam.reserve({ networkId: net.id, nicId: `t-${i}` }, ctx()),
        b.guestIpam.reserve({ networkId: net.id, nicId: `t-${i}` }, ctx()),
      ]);
      expect(second.ip).toBe(first.ip);
      const third = await b.guestIpam.reserve({ networkId: net.id, nicId: `t-${i}` }, ctx());
      expect(third.ip).toBe(first.ip);
    }
    const listed = (await h.pages(ListNicAddresses, { networkId: net.id }, hana)).flatMap((p) => p.addresses);
    expect(listed).toHaveLength(8);
  }, 60_000);

  it("never hand out an address twice when both replicas fill one small network at once", async () => {
    const net = await h.network("small", "10.62.0.0/26", hana);
    const nics = Array.from({ length: 70 }, (_, i) => `s-${i}`);
    const answers = await Promise.allSettled(
      nics.map((nicId, i) => (i % 2 === 0 ? a : b).guestIpam.reserve({ networkId: net.id, nicId }, ctx())),
    );
    const ips = answers.flatMap((r) => (r.status === "fulfilled" ? [r.value.ip] : []));
    expect(ips).toHaveLength(61);
    expect(new Set(ips).size).toBe(61);
    const refused = answers.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    expect(refused).toHaveLength(9);
    for (const reason of refused) expect(reason).toMatch(/no free address/);
  }, 60_000);
});

describe("a replica's watch that ended", () => {
  it("is followed again from where it stopped when it ended under the replica (its server went away)", async () => {
    const nc = await h.nats.connectAs("network-guru");
    const store = await GuruStore.open(nc);
    const copy = await WatchedBlocks.open(store.addressBlocks);
    // As the client library ends a watch whose server is gone: the iterator ends, stop() was not called.
    (copy as unknown as { watch: { stop(): void } }).watch.stop();
    const held = { "10.65.0.9": { nicId: "after", reservedAt: new Date().toISOString() } };
    await store.addressBlocks.put("3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f6.10.65.0.0", { held });
    await copy.fresh();
    expect(copy.addressesOf("3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f6", "after")).toEqual([(10 << 24) + (65 << 16) + 9]);
    copy.stop();
    await nc.close();
  });

  it("refuses what waits for the copy with UNAVAILABLE at once, never an answer from a stale copy", async () => {
    const nc = await h.nats.connectAs("network-guru");
    const store = await GuruStore.open(nc);
    const copy = await WatchedBlocks.open(store.addressBlocks);
    copy.stop();
    await store.addressBlocks.put("3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5.10.64.0.0", { held: {} });
    await expect(copy.fresh()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await nc.close();
  });
});

describe("addresses stored before address blocks", () => {
  it("are moved into blocks: listed, held by the same NIC, and their per-address entries gone", async () => {
    const net = await h.network("legacy", "10.63.0.0/24", hana);
    const nc = await h.nats.connectAs("network-guru");
    const store = await GuruStore.open(nc);
    const reservedAt = new Date().toISOString();
    await store.addresses.put(`${net.id}.10.63.0.7`, { nicId: "old-7", reservedAt });
    await store.nics.put(`${net.id}.old-7`, { ip: "10.63.0.7" });
    // Cut short before its address claim: the NIC held nothing.
    await store.nics.put(`${net.id}.old-8`, { ip: "10.63.0.8" });
    expect(await migrateLegacyAddresses(store)).toBe(1);
    expect(await store.addresses.keys(`${net.id}.>`)).toEqual([]);
    expect(await store.nics.keys(`${net.id}.>`)).toEqual([]);
    const listed = (await h.ok(ListNicAddresses, { networkId: net.id }, hana)).addresses;
    expect(listed.map((x) => [x.nicId, x.ip])).toEqual([["old-7", "10.63.0.7"]]);
    expect((await h.ok(ReserveNicAddress, { networkId: net.id, nicId: "old-7" }, hana)).ip).toBe("10.63.0.7");
    expect((await h.ok(ReserveNicAddress, { networkId: net.id, nicId: "old-8" }, hana)).ip).not.toBe("10.63.0.7");
    expect(await migrateLegacyAddresses(store)).toBe(0);
    await nc.close();
  }, 60_000);
});
