import { connect, type NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import { CreateNetwork, DeleteNetwork, GetNetwork, UpdateNetwork } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkView } from "../src/network-view.js";
import type { NetworkRecord } from "../src/store.js";
import { GuruHarness, tenant } from "./harness.js";

const bus = useNatsServer();
let writer: NatsConnection;

beforeAll(async () => {
  // Writes come over another connection, as another replica's would.
  writer = await connect({ servers: bus.server.url });
});

afterAll(async () => {
  await writer?.close();
});

const record = (id: string, description: string) =>
  ({ id, accountId: "alice", name: "net", description }) as unknown as NetworkRecord;

const ID = "3b0c1d9e-0000-4000-8000-000000000001";

/** The bucket's handle after its stream is gone: what a guru meets while a cluster elects it. */
const destroyed = async (b: JsonBucket<NetworkRecord>) => {
  await b.kv.destroy();
  return b;
};

describe("the watched copy of the network records", () => {
  it("serves nothing until it has caught up with the bucket, then what the bucket held", async () => {
    const bucket = await JsonBucket.open<NetworkRecord>(writer, "test_view_start");
    await bucket.put(ID, record(ID, "before"));
    const view = new NetworkView(await JsonBucket.open<NetworkRecord>(bus.nc, "test_view_start"));
    expect(view.get(ID)).toBeUndefined();
    await view.start();
    try {
      await view.sync();
      expect(view.get(ID)?.value.description).toBe("before");
    } finally {
      view.stop();
    }
  });

  it("shows every write once sync returns, deletes included, never an older revision", async () => {
    const bucket = await JsonBucket.open<NetworkRecord>(writer, "test_view_writes");
    const view = new NetworkView(await JsonBucket.open<NetworkRecord>(bus.nc, "test_view_writes"));
    await view.start();
    try {
      for (let i = 0; i < 20; i++) {
        const revision = await bucket.put(ID, record(ID, `v${i}`));
        await view.sync();
        expect(view.get(ID)).toEqual({ value: record(ID, `v${i}`), revision });
      }
      await bucket.delete(ID);
      await view.sync();
      expect(view.get(ID)).toBeUndefined();
    } finally {
      view.stop();
    }
  });

  it("starts whether or not the bucket answers, and follows it once it does", async () => {
    const view = new NetworkView(await JsonBucket.open<NetworkRecord>(bus.nc, "test_view_late").then(destroyed));
    await view.start();
    try {
      await view.sync();
      expect(view.get(ID)).toBeUndefined();
      const bucket = await JsonBucket.open<NetworkRecord>(writer, "test_view_late");
      await bucket.put(ID, record(ID, "late"));
      const seen = await waitFor("the copy to start", async () => (await view.sync(), view.get(ID)), 10_000);
      expect(seen.value.description).toBe("late");
    } finally {
      view.stop();
    }
  });

  it("serves nothing once stopped: reads go to KV", async () => {
    const bucket = await JsonBucket.open<NetworkRecord>(writer, "test_view_stop");
    await bucket.put(ID, record(ID, "kept"));
    const view = new NetworkView(await JsonBucket.open<NetworkRecord>(bus.nc, "test_view_stop"));
    await view.start();
    await view.sync();
    expect(view.get(ID)).toBeDefined();
    view.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(view.get(ID)).toBeUndefined();
  });
});

describe("GetNetwork after a mutation, two replicas", () => {
  it("sees each update answered before it, whichever replica wrote and whichever reads", async () => {
    const h = await GuruHarness.start(2);
    try {
      const alice = tenant("alice");
      const net = await h.ok(CreateNetwork, { name: "ryw", cidr: "10.3.0.0/24" }, alice);
      expect((await h.ok(GetNetwork, { networkId: net.id }, alice)).name).toBe("ryw");
      for (let i = 0; i < 20; i++) {
        await h.ok(UpdateNetwork, { networkId: net.id, description: `v${i}` }, alice);
        expect((await h.ok(GetNetwork, { networkId: net.id }, alice)).description).toBe(`v${i}`);
      }
      await h.ok(DeleteNetwork, { networkId: net.id }, alice);
      expect((await h.fail(GetNetwork, { networkId: net.id }, alice)).code).toBe("NOT_FOUND");
    } finally {
      await h.stop();
    }
  });
});
