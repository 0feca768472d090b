import { waitFor } from "@sdn/testkit";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import { describe, expect, it } from "vitest";
import { TokenStore } from "./token-store.js";

const bus = useNatsServer();

describe("TokenStore's cache of verified tokens", () => {
  it("stops accepting a token another replica revoked, and one this replica revoked at once", async () => {
    // Two gateway replicas: each its own store (and cache) on the one bucket.
    const [a, b] = [await TokenStore.open(bus.nc), await TokenStore.open(bus.nc)];
    const stops = [await a.watchRevoked(() => undefined), await b.watchRevoked(() => undefined)];
    try {
      const first = await a.issue("acct", "tenant");
      const second = await a.issue("acct", "tenant");
      expect((await a.verify(first.token))?.id).toBe(first.id); // cached on a now
      expect((await a.verify(second.token))?.id).toBe(second.id);

      await b.revoke(first);
      await waitFor("replica a to drop the revoked token", async () =>
        (await a.verify(first.token)) === undefined ? true : undefined,
      );
      await a.revoke(second);
      expect(await a.verify(second.token)).toBeUndefined();
    } finally {
      stops.forEach((stop) => stop());
    }
  });
});
