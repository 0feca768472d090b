import { connect, errors, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import { describe, expect, it } from "vitest";
import { muxedRequest } from "./muxed-request.js";

const bus = useNatsServer();

/** How many requests the connection's multiplexer still holds. */
const pending = (nc: NatsConnection) =>
  (nc as unknown as { protocol: { muxSubscriptions: { size(): number } } }).protocol.muxSubscriptions.size();

describe("muxedRequest", () => {
  it("gets each request its own reply, headers included, and holds nothing once answered", async () => {
    const sub = bus.nc.subscribe("mux.echo", {
      callback: (_err, m) => void m.respond(`${m.string()}:${m.headers?.get("x-n") ?? ""}`),
    });
    const ask = (n: number) => {
      const h = natsHeaders();
      h.set("x-n", String(n));
      return muxedRequest(bus.nc, "mux.echo", `q${n}`, { timeout: 2_000, headers: h });
    };
    // Shares the inbox with nats.js's own requests, which go on working beside these.
    const [own, ...replies] = await Promise.all([
      bus.nc.request("mux.echo", "theirs", { timeout: 2_000 }),
      ...[1, 2, 3].map(ask),
    ]);
    expect(own?.string()).toBe("theirs:");
    expect(replies.map((m) => m.string())).toEqual(["q1:1", "q2:2", "q3:3"]);
    expect(pending(bus.nc)).toBe(0);
    sub.unsubscribe();
  });

  it("reports no responders at once, as nats.js does: a RequestError whose cause says so", async () => {
    const begun = performance.now();
    const err = await muxedRequest(bus.nc, "mux.nobody", "", { timeout: 5_000 }).catch((e: unknown) => e);
    expect(performance.now() - begun).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(errors.RequestError);
    expect((err as InstanceType<typeof errors.RequestError>).isNoResponders()).toBe(true);
    expect(pending(bus.nc)).toBe(0);
  });

  it("times out with nats.js's TimeoutError, and a reply after that changes nothing", async () => {
    let late: (() => void) | undefined;
    const sub = bus.nc.subscribe("mux.slow", { callback: (_err, m) => void (late = () => m.respond("late")) });
    const begun = performance.now();
    const err = await muxedRequest(bus.nc, "mux.slow", "", { timeout: 300 }).catch((e: unknown) => e);
    expect(performance.now() - begun).toBeGreaterThanOrEqual(250);
    expect(err).toBeInstanceOf(errors.TimeoutError);
    expect(pending(bus.nc)).toBe(0);
    late?.();
    await bus.nc.flush();
    sub.unsubscribe();
  });

  it("refuses a request on a draining connection at once, as nats.js does", async () => {
    const nc = await connect({ servers: bus.server.url });
    const sub = nc.subscribe("mux.draining", { callback: () => undefined });
    await nc.flush();
    const draining = nc.drain();
    await expect(muxedRequest(nc, "mux.draining", "", { timeout: 5_000 })).rejects.toBeInstanceOf(
      errors.DrainingConnectionError,
    );
    await draining;
    expect(sub.isClosed()).toBe(true);
  });

  it("refuses a negative timeout, as nats.js does", async () => {
    await expect(muxedRequest(bus.nc, "mux.echo", "", { timeout: -1 })).rejects.toBeInstanceOf(
      errors.InvalidArgumentError,
    );
  });

  it("fails the requests in flight when the connection closes, and refuses new ones", async () => {
    const nc = await connect({ servers: bus.server.url });
    const sub = bus.nc.subscribe("mux.never", { callback: () => undefined });
    await bus.nc.flush();
    const inFlight = muxedRequest(nc, "mux.never", "", { timeout: 10_000 }).catch((e: unknown) => e);
    await nc.flush();
    await nc.close();
    const err = await inFlight;
    expect(err).toBeInstanceOf(errors.RequestError);
    expect((err as Error).message).toContain("closed");
    await expect(muxedRequest(nc, "mux.never", "", { timeout: 1_000 })).rejects.toBeInstanceOf(
      errors.ClosedConnectionError,
    );
    sub.unsubscribe();
  });
});
