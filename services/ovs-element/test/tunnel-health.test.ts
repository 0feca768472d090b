import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ensureStreams, EventPublisher } from "@sdn/bus";
import { eventFilter, type EventEnvelope, type NetworkTunnelHealth } from "@sdn/contracts";
import { TestNatsServer, waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Collaborators } from "../src/collaborators.js";
import { ElementStore, type Membership } from "../src/store.js";
import { healthKey, TunnelHealthBook } from "../src/tunnel-health.js";

/*
 * The element's tunnel health book on a real nats-server: agents' reports become rows'
 * health, turns become TunnelDown / TunnelUp in the network's account and a summary for the
 * guru, an older report never overwrites a newer one, and records of rows gone are pruned.
 */

const NET = "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5";
let nats: TestNatsServer;
let nc: NatsConnection;
let store: ElementStore;
let book: TunnelHealthBook;
const summaries: NetworkTunnelHealth[] = [];
const events: EventEnvelope<{
  networkId: string;
  from: string;
  to: string;
  remoteIp?: string;
  diagnostic: string | null;
}>[] = [];
const silent = { warn: () => undefined, info: () => undefined, debug: () => undefined } as never;

const membership = (hosts: string[]): Membership => ({
  networkId: NET,
  accountId: "acct-h",
  greKey: 7,
  hosts: Object.fromEntries(hosts.map((h, i) => [h, { ip: `10.0.0.${i + 1}`, nics: {} }])),
});

const report = (hostId: string, observedAt: string, to: number, health: "up" | "down" | "unknown") => ({
  hostId,
  observedAt,
  tunnels: [{ networkId: NET, port: `gre-${to}`, remoteIp: `10.0.0.${to}`, health, diagnostic: null }],
});

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  await ensureStreams(nc);
  store = await ElementStore.open(nc);
  const peers = {
    recordTunnelHealth: async (_n: string, h: NetworkTunnelHealth) => void summaries.push(h),
  } as unknown as Collaborators;
  book = await TunnelHealthBook.open({ nc, store, events: new EventPublisher(nc), peers, logger: silent });
  nc.subscribe(eventFilter({ service: "ovs-element" }), { callback: (_e, m) => void events.push(m.json()) });
  await store.memberships.put(NET, membership(["ha", "hb", "hc"]));
});

afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

describe("ovs-element tunnel health book", () => {
  it("records turns, publishes them in the network's account, summarises, and ignores older reports", async () => {
    await book.record(report("ha", "2026-01-01T00:00:01.000Z", 2, "up"));
    await book.record(report("ha", "2026-01-01T00:00:05.000Z", 2, "down"));
    // A late report from before the turn (another replica, a slow event) changes nothing.
    await book.record(report("ha", "2026-01-01T00:00:03.000Z", 2, "up"));
    const rec = (await book.bucket.get(healthKey(NET, "ha", "hb")))?.value;
    expect(rec).toMatchObject({ to: "hb", health: "down", changedAt: "2026-01-01T00:00:05.000Z" });
    await waitFor("two events", () => (events.length >= 2 ? true : undefined));
    expect(events.map((e) => [e.type, e.accountId, e.data.from, e.data.to])).toEqual([
      ["TunnelUp", "acct-h", "ha", "hb"],
      ["TunnelDown", "acct-h", "ha", "hb"],
    ]);
    // A tenant's events name hosts, never their underlay addresses.
    expect(events.map((e) => e.data.remoteIp)).toEqual([undefined, undefined]);
    // Six ordered pairs: one down, five never reported.
    expect(summaries.at(-1)).toEqual({
      state: "Degraded",
      up: 0,
      down: 1,
      unknown: 5,
      changedAt: "2026-01-01T00:00:05.000Z",
    });
    // A tunnel to an address no host of the network holds is not a row: nothing recorded.
    await book.record({ ...report("ha", "2026-01-01T00:00:06.000Z", 9, "up") });
    expect(await book.bucket.keys()).toEqual([healthKey(NET, "ha", "hb")]);
  });

  it("merges health into the rows of its page, and prunes the records of rows gone", async () => {
    const row = { networkId: NET, key: 7, state: "Established" as const, lastError: null, attempts: 0 };
    const rest = { nextRetryAt: null, updatedAt: "2026-01-01T00:00:00.000Z", remoteIp: "10.0.0.2" };
    const merged = await book.merge(NET, [
      { ...row, ...rest, from: "ha", to: "hb", port: "gre-2" },
      { ...row, ...rest, from: "hc", to: "hb", port: "gre-2" },
      // The record is about port gre-2: a replaced tunnel's row says nothing of it.
      { ...row, ...rest, from: "ha", to: "hb", port: "gre-other" },
    ]);
    expect(merged.map((t) => [t.health, t.healthChangedAt])).toEqual([
      ["down", "2026-01-01T00:00:05.000Z"],
      ["unknown", null],
      ["unknown", null],
    ]);
    await book.record(report("hc", "2026-01-01T00:00:07.000Z", 1, "up"));
    expect(await book.prune()).toBe(0);
    await store.memberships.put(NET, membership(["ha", "hb"])); // hc left the network
    expect(await book.prune()).toBe(1);
    expect(await book.bucket.keys()).toEqual([healthKey(NET, "ha", "hb")]);
  });

  it("drops a departed host's rows from the network's summary when their records are pruned", async () => {
    const net = "5b2e3f40-6d7c-4e8f-9a01-c2d3e4f5a6b7";
    const m = { ...membership(["ha", "hb", "hc"]), networkId: net };
    await store.memberships.put(net, m);
    const at = "2026-01-01T00:00:20.000Z";
    // Every path up but those between ha and hc: the network is Degraded.
    const health = (from: string, to: string) =>
      (from === "ha" && to === "hc") || (from === "hc" && to === "ha") ? "down" : "up";
    for (const [i, from] of ["ha", "hb", "hc"].entries()) {
      await book.record({
        hostId: from,
        observedAt: at,
        tunnels: ["ha", "hb", "hc"]
          .map((to, j) => ({ to, j }))
          .filter(({ to }) => to !== from)
          .map(({ to, j }) => ({
            networkId: net,
            port: `gre-${i}${j}`,
            remoteIp: `10.0.0.${j + 1}`,
            health: health(from, to),
            diagnostic: null,
          })),
      });
    }
    expect(summaries.at(-1)).toMatchObject({ state: "Degraded", up: 4, down: 2, unknown: 0 });
    // hc leaves: no remaining row turns, so only the pruning can make the summary true again.
    await store.memberships.put(net, { ...m, hosts: { ha: m.hosts["ha"]!, hb: m.hosts["hb"]! } });
    const before = summaries.length;
    expect(await book.prune()).toBe(4);
    expect(summaries.length).toBe(before + 1);
    expect(summaries.at(-1)).toMatchObject({ state: "AllUp", up: 2, down: 0, unknown: 0 });
    expect(summaries.at(-1)!.changedAt > at).toBe(true);
    // Nothing left to prune: no summary is sent again.
    expect(await book.prune()).toBe(0);
    expect(summaries.length).toBe(before + 1);
  });

  it("keeps the underlay address in the events of the admin account's own networks", async () => {
    const adminNet = "4a1d2e3f-5c6b-4d7e-8f90-b1c2d3e4f5a6";
    await store.memberships.put(adminNet, { ...membership(["ha", "hb"]), networkId: adminNet, accountId: "admin" });
    await book.record({
      hostId: "ha",
      observedAt: "2026-01-01T00:00:09.000Z",
      tunnels: [{ networkId: adminNet, port: "gre-2", remoteIp: "10.0.0.2", health: "down", diagnostic: null }],
    });
    const seen = await waitFor("the admin network's event", () => events.find((e) => e.data.networkId === adminNet));
    expect([seen.type, seen.accountId, seen.data.remoteIp]).toEqual(["TunnelDown", "admin", "10.0.0.2"]);
  });
});
