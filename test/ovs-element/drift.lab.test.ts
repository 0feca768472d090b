import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { DriftRepaired, eventFilter, OvsDriftDetected, type EventEnvelope } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KvmLabHost, LabVm } from "../lab/index.js";
import { ElementLab, ovsView } from "./element-lab.js";

/*
 * Drift found at once: the agent's OVSDB monitor sees a deleted bridge or tunnel port on a
 * KVM host and tells the element (OvsDriftDetected), which repairs that host's network at
 * once. The periodic pass is set to an hour, so it cannot be what repairs anything here.
 */

const REPAIR_BOUND_MS = 2_000;

let el: ElementLab;
let hosts: [KvmLabHost, KvmLabHost];
let vms: [LabVm, LabVm];
let networkId: string;
const seen: { event: string; data: Record<string, unknown> }[] = [];
let sub: Subscription | undefined;

const follow = (nc: NatsConnection): Subscription =>
  nc.subscribe(eventFilter(), {
    callback: (_err, m) => {
      const event = m.subject.split(".").pop() ?? "";
      const env = m.json<EventEnvelope<Record<string, unknown>>>();
      if ([OvsDriftDetected.name, DriftRepaired.name].some((n) => n === event)) seen.push({ event, data: env.data });
    },
  });

beforeAll(async () => {
  el = await ElementLab.start({ SDN_RECONCILE_INTERVAL_MS: "3600000" });
  hosts = [await el.lab.addKvmHost("d1"), await el.lab.addKvmHost("d2")];
  for (const h of hosts) await el.register(h);
  const tenant = await el.gateway.tenant("drift");
  networkId = await el.createNetwork("drift-net", "192.168.71.0/24", tenant.token);
  vms = [await hosts[0].addVm("v1", "192.168.71.11/24"), await hosts[1].addVm("v2", "192.168.71.12/24")];
  sub = follow(el.nc);
  for (const [i, h] of hosts.entries()) await el.plug(networkId, el.plugBody(h, vms[i] as LabVm), tenant.token);
  expect(await vms[0].ping(vms[1].ip)).toBe(true);
}, 180_000);

afterAll(async () => {
  sub?.unsubscribe();
  await el?.close();
}, 60_000);

/** Waits until the network on `h` is whole again (bridge, tunnel, VM port) and the VMs ping. */
const repaired = async (h: KvmLabHost, vm: LabVm, started: number): Promise<number> => {
  await waitFor(
    "the network to be repaired",
    async () => {
      const v = await ovsView(h, networkId);
      return v.tunnels.length === 1 && v.ports.includes(vm.hostDevice) ? true : undefined;
    },
    10_000,
    20,
  );
  const took = Date.now() - started;
  expect(await vms[0].ping(vms[1].ip, 1)).toBe(true);
  return took;
};

it("reports no drift for the controller's own changes", async () => {
  // The plugs built bridges, tunnels and ports on both hosts: none of it is drift.
  await new Promise((r) => setTimeout(r, 300));
  expect(seen).toEqual([]);
});

it("restores a deleted bridge within 2 s, with ping restored, without the periodic pass", async () => {
  const [h1] = hosts;
  const bridge = (await ovsView(h1, networkId)).bridge as string;
  const started = Date.now();
  await h1.vsctl("del-br", bridge);
  const took = await repaired(h1, vms[0], started);
  expect(took).toBeLessThan(REPAIR_BOUND_MS);
  expect(seen.find((e) => e.event === OvsDriftDetected.name)?.data).toMatchObject({
    id: el.hostId(h1),
    name: h1.name,
    networkIds: [networkId],
  });
  const repair = await waitFor("the DriftRepaired event", () => seen.find((e) => e.event === DriftRepaired.name));
  expect(repair.data).toMatchObject({ networkId, hostId: el.hostId(h1) });
  expect(repair.data["repairs"]).toContain("bridge missing");
});

it("restores a deleted tunnel port within 2 s, with ping restored", async () => {
  const [, h2] = hosts;
  seen.length = 0;
  const tunnel = (await ovsView(h2, networkId)).tunnels[0]?.port as string;
  const started = Date.now();
  await h2.vsctl("del-port", tunnel);
  const took = await repaired(h2, vms[1], started);
  expect(took).toBeLessThan(REPAIR_BOUND_MS);
  const repair = await waitFor("the DriftRepaired event", () => seen.find((e) => e.event === DriftRepaired.name));
  expect(repair.data).toMatchObject({ networkId, hostId: el.hostId(h2) });
  expect(String(repair.data["repairs"])).toContain("missing");
});
