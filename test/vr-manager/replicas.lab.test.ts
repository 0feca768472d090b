import {
  AcquirePublicIp,
  eventFilter,
  FirewallRuleCommands,
  GetRouter,
  ReleasePublicIp,
  SyncRouter,
} from "@sdn/contracts";
import { JsonBucket } from "@sdn/bus";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterFixture } from "./router-fixture.js";

/*
 * Two vr-manager replicas changing one router's rules at once: every change is applied,
 * pushes never overlap (each one carries a higher generation than the one before), and
 * the router ends up running every rule.
 */

let fx: RouterFixture;
const applied: number[] = [];
const failed: string[] = [];

beforeAll(async () => {
  fx = await RouterFixture.start(2);
  fx.nc.subscribe(eventFilter({ service: "vr-manager" }), {
    callback: (_e, m) => {
      const e = m.json<{ type: string; data: { generation: number; code?: string } }>();
      if (e.type === "RulesApplied") applied.push(e.data.generation);
      if (e.type === "RulesFailed") failed.push(e.data.code ?? "");
    },
  });
}, 120_000);

afterAll(async () => {
  await fx?.dispose();
});

describe("vr-manager replicas", () => {
  it("serialize pushes to one router and lose no change", async () => {
    const ports = Array.from({ length: 12 }, (_, i) => 10_000 + i);
    const rules = await Promise.all(
      ports.map((port) =>
        fx.send(FirewallRuleCommands.create, {
          networkId: fx.network.id,
          publicIpId: fx.publicIp.id,
          protocol: "tcp",
          startPort: port,
        }),
      ),
    );
    expect(rules.every((r) => r.apply.status === "applied")).toBe(true);
    const router = await fx.send(GetRouter, { routerId: fx.registered.id }, { role: "admin" });
    expect(router.state).toBe("Applied");
    expect(router.appliedGeneration).toBe(router.generation);
    expect(fx.router.savedState().generation).toBe(router.generation);
    const tables = await fx.router.iptables();
    for (const port of ports) expect(tables).toContain(`--ctorigdstport ${port} `);
    expect(failed).toEqual([]);
    // Generations only grow, in the order the router confirmed them.
    expect(applied.length).toBeGreaterThan(1);
    expect([...applied].sort((a, b) => a - b)).toEqual(applied);
    expect(new Set(applied).size).toBe(applied.length);
  });

  it("put a public IP on the router as soon as the network acquires it, and take it away on release", async () => {
    const admin = { role: "admin" as const };
    const onRouter = async (ip: string) =>
      (await fx.router.exec(["ip", "-4", "-br", "addr", "show", "eth1"])).stdout.includes(`${ip}/24`);
    // The periodic check runs once a minute here: the guru's event is what brings it.
    const extra = await fx.send(AcquirePublicIp, { networkId: fx.network.id }, admin);
    await waitFor("the new address on the router", async () => ((await onRouter(extra.ip)) ? true : undefined), 5000);
    expect(await onRouter(fx.publicIp.ip)).toBe(true);
    await fx.send(ReleasePublicIp, { publicIpId: extra.id }, admin);
    await waitFor("the address gone", async () => (!(await onRouter(extra.ip)) ? true : undefined), 5000);
  });

  it("catch up with a router that runs a newer generation than their record says (a restored record)", async () => {
    const admin = { role: "admin" as const };
    const running = fx.router.savedState().generation;
    const routers = await JsonBucket.open<{ generation: number }>(fx.nc, "sdn_vr_routers");
    await routers.update(fx.registered.id, (r) => (r === undefined ? undefined : { ...r, generation: 0 }));
    const synced = await fx.send(SyncRouter, { routerId: fx.registered.id }, admin);
    expect(synced.state).toBe("Applied");
    expect(synced.appliedGeneration).toBeGreaterThan(running);
    expect(fx.router.savedState().generation).toBe(synced.appliedGeneration);
    await waitFor("RulesFailed STALE_GENERATION", () => (failed.includes("STALE_GENERATION") ? true : undefined));
  });
});
