import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KvmLabHost, LabVm, XapiLabHost } from "../lab/index.js";
import { ElementLab, ovsView } from "./element-lab.js";

/*
 * A XenServer host driven over OVSDB on TLS 6640 (the pool enrolled with the controller's
 * CA) next to a KVM host, through the whole control plane: the tunnels reach the XAPI host
 * without the plugin, VMs on both ping, and a tunnel port deleted on the XAPI host is back
 * at once through the agent's monitor (the periodic pass is set to an hour).
 */

const REPAIR_BOUND_MS = 2_000;

let el: ElementLab;
let xen: XapiLabHost;
let kvm: KvmLabHost;
let vms: [LabVm, LabVm];
let networkId: string;

beforeAll(async () => {
  el = await ElementLab.start({ SDN_RECONCILE_INTERVAL_MS: "3600000" });
  xen = await el.lab.addXapiHost("x1", { flavour: "xenserver" });
  kvm = await el.lab.addKvmHost("k1");
  for (const h of [xen, kvm]) await el.register(h);
  const tenant = await el.gateway.tenant("xapi-drift");
  networkId = await el.createNetwork("xapi-drift-net", "192.168.72.0/24", tenant.token);
  vms = [await xen.addVm("vx", "192.168.72.11/24"), await kvm.addVm("vk", "192.168.72.12/24")];
  await el.plug(networkId, el.plugBody(xen, vms[0]), tenant.token);
  await el.plug(networkId, el.plugBody(kvm, vms[1]), tenant.token);
}, 240_000);

afterAll(async () => {
  await el?.close();
}, 60_000);

it("carries VM traffic between a XAPI host and a KVM host, the XAPI host's tunnels set over OVSDB", async () => {
  expect(await vms[0].ping(vms[1].ip)).toBe(true);
  expect((await xen.vsctl("get-manager")).trim()).toBe("pssl:6640");
  const calls = await xen.pluginCalls();
  expect(calls["sdn-ovs apply_tunnels"] ?? 0).toBe(0);
  expect(calls["sdn-ovs setup_bridge"] ?? 0).toBe(0);
  expect(calls["sdn-ovs plug_vif"]).toBeGreaterThan(0);
});

it("restores a tunnel port deleted on the XAPI host within 2 s, with ping restored", async () => {
  const tunnel = (await ovsView(xen, networkId)).tunnels[0]?.port as string;
  expect(tunnel).toBeDefined();
  const started = Date.now();
  await xen.vsctl("del-port", tunnel);
  await waitFor(
    "the tunnel to be back",
    async () => ((await ovsView(xen, networkId)).tunnels.length === 1 ? true : undefined),
    10_000,
    20,
  );
  expect(Date.now() - started).toBeLessThan(REPAIR_BOUND_MS);
  expect(await vms[0].ping(vms[1].ip, 1)).toBe(true);
  expect((await xen.pluginCalls())["sdn-ovs apply_tunnels"] ?? 0).toBe(0);
});
