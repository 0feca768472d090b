import { useNatsServer } from "@sdn/testkit/nats-fixture";
import { describe, expect, it } from "vitest";
import { bucket, bucketStore } from "./buckets.js";
import { JsonBucket } from "./kv.js";

const bus = useNatsServer();

const TEST_BUCKETS = {
  notes: bucket<{ text: string }>("sdn_test_notes"),
  counts: bucket<number>("sdn_test_counts", { history: 3 }),
};

class TestStore extends bucketStore(TEST_BUCKETS) {
  async noteCount(): Promise<number> {
    return (await this.notes.keys()).length;
  }
}

describe("bucketStore", () => {
  it("opens every bucket as a field of the store's own class, with the bucket's options", async () => {
    const store = await TestStore.open(bus.nc);
    expect(store).toBeInstanceOf(TestStore);
    expect(store.notes).toBeInstanceOf(JsonBucket);
    await store.notes.put("a", { text: "one" });
    await store.counts.put("c", 1);
    await store.counts.put("c", 2);
    expect(await store.noteCount()).toBe(1);
    // A second store on the same buckets sees what the first wrote.
    const again = await TestStore.open(bus.nc);
    expect((await again.notes.get("a"))?.value).toEqual({ text: "one" });
    expect((await again.counts.get("c"))?.value).toBe(2);
  });
});
