import { CommandClient, JsonBucket } from "@sdn/bus";
import { ListNicAddresses, PlugNic, type Nic } from "@sdn/contracts";
import { ovsElementSpec, nicIdFor, type Membership } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { waitFor } from "@sdn/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KvmLabHost, LabVm } from "../lab/index.js";
import { ElementLab, ovsView } from "./element-lab.js";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");

let el: ElementLab;
let child: ChildProcess | undefined;
let replacement: RunningService<never> | undefined;

beforeAll(async () => {
  el = await ElementLab.start(null);
}, 120_000);

afterAll(async () => {
  child?.kill("SIGKILL");
  await replacement?.stop();
  await el?.close();
}, 60_000);

it("finishes a plug whose element was killed mid-way, through the redelivered command", async () => {
  const [h1, h2] = [await el.lab.addKvmHost("k1"), await el.lab.addKvmHost("k2")] as [KvmLabHost, KvmLabHost];
  await el.register(h1);
  await el.register(h2);
  const tenant = await el.gateway.tenant("crash");
  const networkId = await el.createNetwork("crash-net", "192.168.70.0/24", tenant.token);
  const [vm1, vm2] = [await h1.addVm("v1", "192.168.70.11/24"), await h2.addVm("v2", "192.168.70.12/24")] as [
    LabVm,
    LabVm,
  ];
  const env = {
    ...process.env,
    NATS_URL: el.gateway.nats.url,
    LOG_LEVEL: "silent",
    SDN_RECONCILE_INTERVAL_MS: "3600000",
  };
  child = spawn(process.execPath, ["--import", "tsx", "--conditions=sdn-source", "services/ovs-element/src/main.ts"], {
    cwd: repoRoot,
    env,
    stdio: "ignore",
  });
  const client = new CommandClient(el.nc);
  const as = { accountId: tenant.accountId, role: "tenant" as const, timeoutMs: 60_000 };
  const first = await client.send(PlugNic, { ...el.plugBody(h1, vm1), networkId } as never, as);
  expect(first.ok).toBe(true);

  // The second plug: the element dies (SIGKILL) as soon as the NIC is in the mesh's membership.
  const commandId = randomUUID();
  const nicId = nicIdFor(commandId);
  const memberships = await JsonBucket.open<Membership>(el.nc, "sdn_element_memberships");
  await client.publish(PlugNic, { ...el.plugBody(h2, vm2), networkId } as never, { ...as, commandId });
  await waitFor(
    "the plug to reach the membership",
    async () => ((await memberships.get(networkId))?.value.hosts[el.hostId(h2)]?.nics[nicId] ? true : undefined),
    20_000,
    2,
  );
  child.kill("SIGKILL");
  expect((await memberships.get(networkId))?.value.hosts[el.hostId(h2)]?.nics[nicId]?.state).toBe("Plugging");
  expect(await client.findAnswer(PlugNic, commandId, as.accountId)).toBeUndefined();

  // Another replica takes the command over once its ack wait runs out, and finishes the same NIC.
  const waiting = client.awaitAnswer(PlugNic, commandId, 60_000, as.accountId);
  replacement = (await startService(ovsElementSpec, {
    NATS_URL: el.gateway.nats.url,
    LOG_LEVEL: "silent",
    SDN_RECONCILE_INTERVAL_MS: "3600000",
  })) as unknown as RunningService<never>;
  const stored =
    (await waiting.answer.catch(() => undefined)) ?? (await client.findAnswer(PlugNic, commandId, as.accountId));
  expect(stored?.ok, JSON.stringify(stored)).toBe(true);
  const nic = (stored as { data: Nic }).data;
  expect(nic).toMatchObject({ id: nicId, ip: vm2.ip, state: "Plugged" });
  expect(await vm1.ping(vm2.ip)).toBe(true);
  // One NIC, one address, one port: nothing doubled by the second delivery.
  const addresses = await client.send(ListNicAddresses, { networkId }, as);
  expect(addresses.ok && addresses.data.addresses.map((a) => a.ip)).toEqual([vm1.ip, vm2.ip]);
  const view = await ovsView(h2, networkId);
  expect(view.tunnels.map((t) => t.remoteIp)).toEqual([h1.address]);
  expect(view.ports.filter((p) => p === vm2.hostDevice)).toHaveLength(1);
}, 120_000);
