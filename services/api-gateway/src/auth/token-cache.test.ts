import type { TokenInfo } from "@sdn/contracts";
import { describe, expect, it } from "vitest";
import { TokenCache } from "./token-cache.js";

const info = (id: string): TokenInfo => ({ id, accountId: "a", role: "tenant", createdAt: "2026-01-01T00:00:00Z" });

describe("TokenCache", () => {
  it("forgets the least recently used token first when full", () => {
    const cache = new TokenCache(2);
    cache.set("h1", info("1"), cache.epoch);
    cache.set("h2", info("2"), cache.epoch);
    expect(cache.get("h1")?.id).toBe("1"); // h1 is now the most recently used
    cache.set("h3", info("3"), cache.epoch);
    expect(cache.get("h2")).toBeUndefined();
    expect(cache.get("h1")?.id).toBe("1");
    expect(cache.get("h3")?.id).toBe("3");
  });

  it("does not trust an entry past its lifetime", async () => {
    const cache = new TokenCache(10, 20);
    cache.set("h1", info("1"), cache.epoch);
    await new Promise((r) => setTimeout(r, 40));
    expect(cache.get("h1")).toBeUndefined();
  });

  it("does not cache a read that a revocation overtook", () => {
    const cache = new TokenCache();
    const before = cache.epoch;
    cache.drop("h1"); // the revocation arrives while the KV read is on its way
    cache.set("h1", info("1"), before);
    expect(cache.get("h1")).toBeUndefined();
  });
});
