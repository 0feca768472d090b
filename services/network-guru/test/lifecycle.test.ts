import {
  CreateNetwork,
  DeleteNetwork,
  GetNetwork,
  ImplementNetwork,
  RecordTunnelHealth,
  ReleaseNicAddress,
  ReserveNicAddress,
  ShutdownNetwork,
  UpdateNetwork,
  eventFilter,
  type EventEnvelope,
} from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { startService } from "@sdn/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GuruHarness, tenant } from "./harness.js";

const alice = tenant("alice");
let h: GuruHarness;
const events: EventEnvelope<Record<string, unknown>>[] = [];

beforeAll(async () => {
  // Two keys, both above 2^31-1, and two VNIs at the top of 24 bits, so exhaustion and reuse are reachable.
  h = await GuruHarness.start(1, {
    SDN_GRE_KEY_MIN: "4294967294",
    SDN_GRE_KEY_MAX: "4294967295",
    SDN_VNI_MIN: "16777214",
    SDN_VNI_MAX: "16777215",
  });
  h.nc.subscribe(eventFilter({ service: "network-guru" }), {
    callback: (_e, m) => {
      events.push(m.json<EventEnvelope<Record<string, unknown>>>());
    },
  });
});

afterAll(async () => {
  await h?.stop();
});

const design = (name: string, cidr = "10.1.0.0/24") => h.ok(CreateNetwork, { name, cidr }, alice);

describe("network lifecycle", () => {
  it("records the element's tunnel health summary: admins only, never an older one, not a design change", async () => {
    const n = await design("health");
    const degraded = { state: "Degraded", up: 4, down: 2, unknown: 0, changedAt: "2026-01-01T00:00:02.000Z" } as const;
    // A tenant cannot make its network look healthy (or broken): the summary is the system's.
    expect((await h.fail(RecordTunnelHealth, { networkId: n.id, tunnelHealth: degraded }, alice)).code).toBe(
      "FORBIDDEN",
    );
    expect((await h.ok(GetNetwork, { networkId: n.id }, alice)).tunnelHealth).toBeUndefined();
    expect(await h.ok(RecordTunnelHealth, { networkId: n.id, tunnelHealth: degraded }, ADMIN)).toEqual({
      recorded: true,
    });
    const older = { ...degraded, state: "AllUp", up: 6, down: 0, changedAt: "2026-01-01T00:00:01.000Z" } as const;
    expect(await h.ok(RecordTunnelHealth, { networkId: n.id, tunnelHealth: older }, ADMIN)).toEqual({
      recorded: false,
    });
    const seen = await h.ok(GetNetwork, { networkId: n.id }, alice);
    expect(seen.tunnelHealth).toEqual(degraded);
    expect(seen.updatedAt).toBe(n.updatedAt);
    await h.ok(DeleteNetwork, { networkId: n.id }, alice);
  });

  it("designs a network as Allocated with defaults: first usable gateway, MTU 1450, GRE, no key", async () => {
    const n = await design("web");
    expect(n).toMatchObject({
      name: "web",
      accountId: "alice",
      cidr: "10.1.0.0/24",
      gateway: "10.1.0.1",
      dns: [],
      mtu: 1450,
      encapsulation: "gre",
      state: "Allocated",
      excludedRanges: [],
    });
    expect(n.greKey).toBeUndefined();
    expect(await h.ok(GetNetwork, { networkId: n.id }, alice)).toEqual(n);
  });

  it("implements with a key above 2^31-1, idempotently, and updates what may change", async () => {
    const n = await design("app");
    const impl = await h.ok(ImplementNetwork, { networkId: n.id }, alice);
    expect(impl.state).toBe("Implemented");
    expect(impl.greKey).toBeGreaterThan(2 ** 31 - 1);
    expect(impl.broadcastUri).toBe(`gre://${impl.greKey}`);
    expect(await h.ok(ImplementNetwork, { networkId: n.id }, alice)).toEqual(impl);
    const updated = await h.ok(UpdateNetwork, { networkId: n.id, mtu: 1400, dns: ["9.9.9.9"] }, alice);
    expect(updated).toMatchObject({ mtu: 1400, dns: ["9.9.9.9"], greKey: impl.greKey, state: "Implemented" });
    await h.ok(ShutdownNetwork, { networkId: n.id }, alice);
    await h.ok(DeleteNetwork, { networkId: n.id }, alice);
  });

  it("answers CONFLICT when the key pool is exhausted and reuses a key after shutdown", async () => {
    const a = await h.ok(ImplementNetwork, { networkId: (await design("a")).id }, alice);
    const b = await h.ok(ImplementNetwork, { networkId: (await design("b")).id }, alice);
    expect(new Set([a.greKey, b.greKey])).toEqual(new Set([4294967294, 4294967295]));
    const c = await design("c");
    const err = await h.fail(ImplementNetwork, { networkId: c.id }, alice);
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain("GRE key pool 4294967294..4294967295 is exhausted");
    expect((await h.ok(GetNetwork, { networkId: c.id }, alice)).state).toBe("Allocated");

    const down = await h.ok(ShutdownNetwork, { networkId: a.id }, alice);
    expect(down.state).toBe("Shutdown");
    expect(down.greKey).toBeUndefined();
    expect(down.broadcastUri).toBeUndefined();
    expect(await h.ok(ShutdownNetwork, { networkId: a.id }, alice)).toEqual(down);
    expect((await h.ok(ImplementNetwork, { networkId: c.id }, alice)).greKey).toBe(a.greKey);

    // a, shut down, can come back only when a key is free again.
    expect((await h.fail(ImplementNetwork, { networkId: a.id }, alice)).code).toBe("CONFLICT");
    await h.ok(DeleteNetwork, { networkId: c.id }, alice);
    expect((await h.ok(ImplementNetwork, { networkId: a.id }, alice)).greKey).toBe(c.greKey ?? a.greKey);
    for (const id of [a.id, b.id]) await h.ok(DeleteNetwork, { networkId: id }, alice);
  });

  it("gives vxlan networks VNIs from their own pool, keeps the encapsulation fixed, returns the VNI", async () => {
    const vx = (name: string) => h.ok(CreateNetwork, { name, cidr: "10.1.0.0/24", encapsulation: "vxlan" }, alice);
    const [a, b, c] = [await vx("vx-a"), await vx("vx-b"), await vx("vx-c")];
    expect(a).toMatchObject({ encapsulation: "vxlan", state: "Allocated", mtu: 1450 });
    const ia = await h.ok(ImplementNetwork, { networkId: a.id }, alice);
    const ib = await h.ok(ImplementNetwork, { networkId: b.id }, alice);
    expect(new Set([ia.vni, ib.vni])).toEqual(new Set([16777214, 16777215]));
    expect(ia.greKey).toBeUndefined();
    expect(ia.broadcastUri).toBe(`vxlan://${ia.vni}`);
    const full = await h.fail(ImplementNetwork, { networkId: c.id }, alice);
    expect(full).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("VNI pool 16777214..16777215") });
    expect(full.message).toContain("SDN_VNI_MIN..SDN_VNI_MAX");
    // The GRE pool is another pool: a GRE network still takes a key.
    const g = await h.ok(ImplementNetwork, { networkId: (await design("gre-beside")).id }, alice);
    expect(g.greKey).toBeGreaterThan(2 ** 32 - 3);

    const change = await h.fail(UpdateNetwork, { networkId: a.id, encapsulation: "gre", mtu: 1400 }, alice);
    expect(change).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("is on vxlan") });
    expect((change.details as { issues: { path: string }[] }).issues[0]?.path).toBe("/encapsulation");
    expect((await h.ok(GetNetwork, { networkId: a.id }, alice)).mtu).toBe(1450);
    expect((await h.ok(UpdateNetwork, { networkId: a.id, encapsulation: "vxlan", mtu: 1400 }, alice)).mtu).toBe(1400);

    const down = await h.ok(ShutdownNetwork, { networkId: a.id }, alice);
    expect(down.vni).toBeUndefined();
    expect((await h.ok(ImplementNetwork, { networkId: c.id }, alice)).vni).toBe(ia.vni);
    expect(await h.ok(DeleteNetwork, { networkId: b.id }, alice)).toMatchObject({ releasedVni: ib.vni });
    await expect
      .poll(() => events.find((e) => e.type === "NetworkShutdown" && JSON.stringify(e.data).includes(a.id))?.data)
      .toMatchObject({ releasedVni: ia.vni });
    for (const id of [a.id, c.id, g.id]) await h.ok(DeleteNetwork, { networkId: id }, alice);
  });

  it("refuses illegal transitions with CONFLICT or NOT_FOUND and changes nothing", async () => {
    const n = await design("strict");
    const never = await h.fail(ShutdownNetwork, { networkId: n.id }, alice);
    expect(never).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("never implemented") });

    await h.ok(ImplementNetwork, { networkId: n.id }, alice);
    await h.ok(ReserveNicAddress, { networkId: n.id, nicId: "nic-1", ip: "10.1.0.10" }, alice);
    const busy = await h.fail(ShutdownNetwork, { networkId: n.id }, alice);
    expect(busy.code).toBe("CONFLICT");
    expect(busy.message).toContain("nic-1 10.1.0.10");
    const held = await h.fail(DeleteNetwork, { networkId: n.id }, alice);
    expect(held.code).toBe("CONFLICT");
    expect(held.message).toContain("nic-1 10.1.0.10");
    expect(held.details).toEqual({ nics: [{ nicId: "nic-1", ip: "10.1.0.10" }], publicIps: [] });
    const still = await h.ok(GetNetwork, { networkId: n.id }, alice);
    expect(still.state).toBe("Implemented");

    await h.ok(ReleaseNicAddress, { networkId: n.id, nicId: "nic-1" }, alice);
    const deleted = await h.ok(DeleteNetwork, { networkId: n.id }, alice);
    expect(deleted).toMatchObject({ id: n.id, name: "strict", releasedGreKey: still.greKey });
    for (const cmd of [GetNetwork, ImplementNetwork, ShutdownNetwork, DeleteNetwork] as const) {
      expect((await h.fail(cmd, { networkId: n.id }, alice)).code).toBe("NOT_FOUND");
    }
    expect((await h.fail(ReserveNicAddress, { networkId: n.id, nicId: "nic-2" }, alice)).code).toBe("NOT_FOUND");
  });

  it("publishes an event for each transition", async () => {
    const n = await design("audited");
    await h.ok(ImplementNetwork, { networkId: n.id }, alice);
    await h.ok(ShutdownNetwork, { networkId: n.id }, alice);
    await h.ok(DeleteNetwork, { networkId: n.id }, alice);
    await expect
      .poll(() => events.filter((e) => JSON.stringify(e.data).includes(n.id)).map((e) => e.type))
      .toEqual(["NetworkDesigned", "NetworkImplemented", "NetworkShutdown", "NetworkDeleted"]);
    expect(events.find((e) => e.type === "NetworkDeleted" && e.data["networkId"] === n.id)?.accountId).toBe("alice");
  });

  it("refuses to start with a key range whose minimum is above its maximum, naming the variable", async () => {
    await expect(
      startService(networkGuruSpec, {
        ...h.nats.serviceEnv("network-guru"),
        LOG_LEVEL: "silent",
        SDN_GRE_KEY_MIN: "10",
        SDN_GRE_KEY_MAX: "9",
      }),
    ).rejects.toThrow(/SDN_GRE_KEY_MIN: 10 is above SDN_GRE_KEY_MAX/);
    await expect(
      startService(networkGuruSpec, {
        ...h.nats.serviceEnv("network-guru"),
        LOG_LEVEL: "silent",
        SDN_GRE_KEY_MAX: "4294967296",
      }),
    ).rejects.toThrow(/SDN_GRE_KEY_MAX/);
  });
});
