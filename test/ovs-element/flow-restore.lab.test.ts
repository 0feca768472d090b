import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KvmLabHost, LabVm } from "../lab/index.js";
import { exec } from "../lab/index.js";
import { ElementLab, ovsView } from "./element-lab.js";

/*
 * Port security survives an ovs-vswitchd restart: the database (ports and their tags)
 * stays, the OpenFlow flows do not. The agent's watch on the bridge's management socket
 * sees ovs-vswitchd come back and the host program puts the flows back. The periodic
 * checks (the agent's flow check, the element's pass) are set to an hour, so they cannot be
 * what restores anything here.
 */

/** How long the test waits for the flows; what it took is printed (no speed assertion). */
const RESTORE_WAIT_MS = 15_000;
const HOUR_MS = "3600000";
const COOKIE = "cookie=0x5d5ec00000000001/-1";

let el: ElementLab;
let k1: KvmLabHost;
/** v1: the legitimate VM, v2: its peer, v3: the spoofer; all secured, on one host. */
let v1: LabVm, v2: LabVm, v3: LabVm;
let bridge: string;

beforeAll(async () => {
  el = await ElementLab.start({ SDN_RECONCILE_INTERVAL_MS: HOUR_MS }, { SDN_FLOW_CHECK_INTERVAL_MS: HOUR_MS });
  k1 = await el.lab.addKvmHost("fr1");
  await el.register(k1);
  const tenant = await el.gateway.tenant("flowrestore");
  const networkId = await el.createNetwork("fr-net", "192.168.73.0/24", tenant.token);
  v1 = await k1.addVm("v1", "192.168.73.11/24");
  v2 = await k1.addVm("v2", "192.168.73.12/24");
  v3 = await k1.addVm("v3", "192.168.73.13/24");
  for (const vm of [v1, v2, v3]) await el.plug(networkId, el.plugBody(k1, vm), tenant.token);
  bridge = (await ovsView(k1, networkId)).bridge as string;
}, 180_000);

afterAll(async () => {
  await el?.close();
}, 60_000);

/** The bridge's port-security flows (the cookie's), one per line. */
const securityFlows = async (): Promise<string[]> =>
  (await exec(k1.argv(["ovs-ofctl", "--names", "--no-stats", "dump-flows", bridge, COOKIE])))
    .split("\n")
    .filter((l) => l.includes("cookie="));

/** v3 sends from an address that is not its own: true when it reaches v2. */
const spoofGetsThrough = async (): Promise<boolean> => {
  await v3.run(["ip", "addr", "add", "192.168.73.50/24", "dev", "eth0"]);
  try {
    const r = await v3.exec(["ping", "-c", "2", "-i", "0.2", "-W", "1", "-I", "192.168.73.50", v2.ip]);
    return r.code === 0;
  } finally {
    await v3.run(["ip", "addr", "del", "192.168.73.50/24", "dev", "eth0"]);
  }
};

it("blocks the spoofer before the restart (the flows are what blocks it)", async () => {
  expect(await v1.ping(v2.ip)).toBe(true);
  expect(await spoofGetsThrough()).toBe(false);
});

it("restores the flows after ovs-vswitchd restarts, without the periodic checks", async () => {
  const installed = (await securityFlows()).length;
  expect(installed).toBeGreaterThan(0);
  const started = Date.now();
  await k1.restartVswitchd();
  const running = Date.now();
  await waitFor(
    "the port-security flows to be back",
    async () => ((await securityFlows()).length === installed ? true : undefined),
    RESTORE_WAIT_MS,
    20,
  );
  const took = Date.now() - started;
  console.log(
    `port-security flows back ${took} ms after the restart began, ${Date.now() - running} ms after ovs-vswitchd ran again`,
  );
  // Installed after the restart (not survivors of it): each flow is younger than the restart.
  const ages = (await exec(k1.argv(["ovs-ofctl", "dump-flows", bridge, COOKIE]))).match(/duration=[0-9.]+s/g) ?? [];
  const sinceRestart = Date.now() - started;
  expect(ages).toHaveLength(installed);
  for (const a of ages) expect(Number(a.slice("duration=".length, -1)) * 1000).toBeLessThanOrEqual(sinceRestart);
  expect(await spoofGetsThrough()).toBe(false);
  expect(await v1.ping(v2.ip)).toBe(true);
});

it("restores them again after a second restart (the watch holds the new ovs-vswitchd)", async () => {
  await k1.restartVswitchd();
  await waitFor(
    "the port-security flows to be back",
    async () => ((await securityFlows()).length > 0 ? true : undefined),
    RESTORE_WAIT_MS,
    20,
  );
  expect(await spoofGetsThrough()).toBe(false);
  expect(await v1.ping(v2.ip)).toBe(true);
});
