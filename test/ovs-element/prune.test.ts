import { connect, type NatsConnection } from "@nats-io/transport-node";
import { CommandClient, JsonBucket } from "@sdn/bus";
import { CreateNetwork, DeleteNetwork, type Network } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec, type Element } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { TestNatsServer } from "@sdn/testkit";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * The element forgets the mesh entry (and tunnel rows) of a network once the guru no
 * longer has it, and keeps the entries of networks that still exist. No hosts are needed:
 * both entries are empty, as they are after a network's last NIC was unplugged.
 */

let nats: TestNatsServer;
let nc: NatsConnection;
const services: RunningService<never>[] = [];
const admin = { role: "admin" as const, accountId: "ops", timeoutMs: 30_000 };

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  const base = { NATS_URL: nats.url, LOG_LEVEL: "silent" };
  services.push((await startService(networkGuruSpec, base)) as unknown as RunningService<never>);
  // Rounds run when the test asks, not on a timer.
  const element = await startService(ovsElementSpec, { ...base, SDN_RECONCILE_INTERVAL_MS: "3600000" });
  services.push(element as unknown as RunningService<never>);
});

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  await nc.close();
  await nats.dispose();
});

const createNetwork = async (name: string): Promise<Network> => {
  const a = await new CommandClient(nc).send(CreateNetwork, { name, cidr: "10.9.0.0/24", accountId: "acct-p" }, admin);
  if (!a.ok) throw new Error(a.error.message);
  return a.data;
};

describe("ovs-element: meshes of deleted networks", () => {
  it("a reconciliation round drops the entries of deleted networks only", async () => {
    const kept = await createNetwork("kept");
    const gone = await createNetwork("gone");
    const deleted = await new CommandClient(nc).send(DeleteNetwork, { networkId: gone.id }, admin);
    expect(deleted.ok).toBe(true);

    const memberships = await JsonBucket.open<Record<string, unknown>>(nc, "sdn_element_memberships");
    const tunnels = await JsonBucket.open<Record<string, unknown>>(nc, "sdn_element_tunnels");
    for (const n of [kept, gone]) {
      await memberships.createIfAbsent(n.id, { networkId: n.id, accountId: "acct-p", greKey: 7, hosts: {} });
      await tunnels.createIfAbsent(`${n.id}.${randomUUID()}`, { networkId: n.id, rows: [] });
    }

    const element = services[1]!.state as Element;
    await element.reconciler.reconcileAll();

    expect(await memberships.get(gone.id)).toBeUndefined();
    expect(await tunnels.keys(`${gone.id}.>`)).toEqual([]);
    expect(await memberships.get(kept.id)).toBeDefined();
    expect(await tunnels.keys(`${kept.id}.>`)).toHaveLength(1);
  });
});
