import {
  ApplyTunnels,
  DestroyBridge,
  GetOvsState,
  ListVms,
  Ping,
  PlugVif,
  SetupBridge,
  UnplugVif,
} from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import { renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KvmLabHost, XapiLabHost } from "../lab/index.js";
import { hostOf, HostsLab, ok, vsctlGet } from "./hosts-lab.js";

/*
 * What the agent does in each host's Open vSwitch through its host programs (the lab:
 * hosts-lab.ts): bridges and tunnels in the OVS database, a VM's packets over GRE between a
 * XenServer and a KVM host, and how a failing XAPI plugin or KVM script reads. Hosts
 * registered and refused: hosts.lab.test.ts.
 */

let hl: HostsLab;
let xen: XapiLabHost;
let xcp: XapiLabHost;
let kvm: KvmLabHost;
const ids: Record<string, string> = {};
const [NET_A, NET_P] = [randomUUID(), randomUUID()];

beforeAll(async () => {
  hl = await HostsLab.start();
  // The plugin already installed: no SSH needed.
  xen = await hl.lab.addXapiHost("xen", { flavour: "xenserver" });
  xcp = await hl.lab.addXapiHost("xcp", { flavour: "xcp-ng" });
  kvm = await hl.lab.addKvmHost("kvm");
  for (const [name, h] of Object.entries({ xen, xcp, kvm })) ids[name] = ok(await hl.addHost(hostOf(h))).id;
}, 120_000);

afterAll(async () => {
  await hl?.dispose();
});

describe("hypervisor-agent in the emulated lab: bridges, tunnels and VIFs on the hosts", () => {
  it("leaves the bridges and tunnels it is asked for in each host's OVS database", async () => {
    const hosts = [
      { id: ids["xen"] as string, lab: xen as XapiLabHost | KvmLabHost },
      { id: ids["xcp"] as string, lab: xcp },
      { id: ids["kvm"] as string, lab: kvm },
    ];
    for (const h of hosts) {
      const setup = ok(await hl.agentCall(h.id, SetupBridge, { networkId: NET_A }));
      expect(setup.created).toBe(true);
      expect(setup.bridge.length).toBeLessThanOrEqual(15);
      if (h.lab.hypervisor === "kvm") expect(setup.bridge).toMatch(/^sdn[0-9a-f]{12}$/);
      else expect(setup.bridge).toMatch(/^xapi\d+$/);
      expect(ok(await hl.agentCall(h.id, SetupBridge, { networkId: NET_A }))).toEqual({ ...setup, created: false });
      expect(await vsctlGet(h.lab, "Bridge", setup.bridge, "external_ids:sdn-network-id")).toBe(NET_A);
      expect(await vsctlGet(h.lab, "Bridge", setup.bridge, "datapath_type")).toBe("netdev");

      const others = hosts.filter((o) => o !== h).map((o) => ({ ip: o.lab.address, hostId: o.id }));
      const applied = ok(
        await hl.agentCall(h.id, ApplyTunnels, { networkId: NET_A, greKey: 4294967295, remotes: others }),
      );
      expect(applied.added).toHaveLength(2);
      const ports = (await h.lab.vsctl("list-ports", setup.bridge)).trim().split("\n").sort();
      expect(ports).toEqual([...applied.added].sort());
      for (const t of applied.tunnels) {
        expect(t.port.length).toBeLessThanOrEqual(15);
        expect(await vsctlGet(h.lab, "Interface", t.port, "type")).toBe("gre");
        expect(await vsctlGet(h.lab, "Interface", t.port, "options:key")).toBe("4294967295");
        expect(await vsctlGet(h.lab, "Interface", t.port, "options:remote_ip")).toBe(t.remoteIp);
        expect(await vsctlGet(h.lab, "Port", t.port, "protected")).toBe("true");
        expect(await vsctlGet(h.lab, "Port", t.port, "external_ids:sdn-role")).toBe("tunnel");
      }
      // The whole set each time: one remote left means one tunnel removed; again changes nothing.
      const one = { networkId: NET_A, greKey: 4294967295, remotes: others.slice(0, 1) };
      const shrunk = ok(await hl.agentCall(h.id, ApplyTunnels, one));
      const dropped = applied.tunnels.find((t) => t.remoteIp === others[1]?.ip)?.port;
      expect(shrunk).toMatchObject({ added: [], removed: [dropped] });
      expect(ok(await hl.agentCall(h.id, ApplyTunnels, one))).toMatchObject({ added: [], removed: [] });
      expect((await h.lab.vsctl("list-ports", setup.bridge)).trim()).toBe(shrunk.tunnels[0]?.port);

      const state = ok(await hl.agentCall(h.id, GetOvsState, { networkId: NET_A }));
      expect(state.bridges).toHaveLength(1);
      expect(state.bridges[0]).toMatchObject({ name: setup.bridge, managed: true, networkId: NET_A });
      const reported = state.bridges[0]?.ports.filter((p) => p.externalIds["sdn-role"] === "tunnel") ?? [];
      expect(reported.map((p) => [p.name, p.protected, p.interfaces[0]?.options["key"]])).toEqual([
        [shrunk.tunnels[0]?.port, true, "4294967295"],
      ]);

      expect(ok(await hl.agentCall(h.id, DestroyBridge, { networkId: NET_A }))).toEqual({
        bridge: setup.bridge,
        destroyed: true,
      });
      expect((await h.lab.exec(["ovs-vsctl", "br-exists", setup.bridge])).code).toBe(2);
      expect(ok(await hl.agentCall(h.id, DestroyBridge, { networkId: NET_A })).destroyed).toBe(false);
    }
  }, 90_000);

  it("carries a VM's packets over GRE between a XenServer and a KVM host, and stops them once unplugged", async () => {
    const [x, k] = [ids["xen"] as string, ids["kvm"] as string];
    const key = 3_000_000_007;
    for (const [id, peer] of [
      [x, kvm.address],
      [k, xen.address],
    ] as const) {
      ok(await hl.agentCall(id, SetupBridge, { networkId: NET_P }));
      ok(await hl.agentCall(id, ApplyTunnels, { networkId: NET_P, greKey: key, remotes: [{ ip: peer }] }));
    }
    const vmA = await xen.addVm("vm-a", "192.168.77.1/24");
    const vmB = await kvm.addVm("vm-b", "192.168.77.2/24");
    ok(
      await hl.agentCall(x, PlugVif, {
        networkId: NET_P,
        device: vmA.hostDevice,
        nicId: "nic-a",
        mac: vmA.mac,
        vmId: vmA.uuid,
      }),
    );
    ok(
      await hl.agentCall(k, PlugVif, {
        networkId: NET_P,
        device: vmB.hostDevice,
        nicId: "nic-b",
        mac: vmB.mac,
        vmId: "vm-b",
      }),
    );
    expect(await vmA.ping(vmB.ip)).toBe(true);
    expect(await vmB.ping(vmA.ip)).toBe(true);

    const xenVms = ok(await hl.agentCall(x, ListVms, {})).vms;
    expect(xenVms).toEqual([
      expect.objectContaining({
        id: vmA.uuid,
        name: "vm-a",
        powerState: "Running",
        nics: [expect.objectContaining({ device: vmA.hostDevice, mac: vmA.mac })],
      }),
    ]);
    expect(ok(await hl.agentCall(k, ListVms, {})).vms).toEqual([
      expect.objectContaining({ id: "vm-b", nics: [{ device: vmB.hostDevice, mac: vmB.mac }] }),
    ]);

    expect(ok(await hl.agentCall(k, UnplugVif, { networkId: NET_P, device: vmB.hostDevice }))).toEqual({
      port: vmB.hostDevice,
      removed: true,
    });
    expect(await vmA.ping(vmB.ip, 2)).toBe(false);
    expect(ok(await hl.agentCall(k, UnplugVif, { networkId: NET_P, device: vmB.hostDevice })).removed).toBe(false);
  }, 90_000);

  it("turns a failing XAPI plugin into a readable XENAPI_PLUGIN_FAILURE error", async () => {
    const lib = join(xcp.pluginDir, "sdn_ovs.py");
    renameSync(lib, `${lib}.away`);
    try {
      // Ping runs the plugin (GetOvsState is answered from the OVSDB monitor's cache).
      const a = await hl.agentCall(ids["xcp"] as string, Ping, {});
      expect(a).toMatchObject({
        ok: false,
        error: {
          code: "UNPROCESSABLE",
          message: "host plugin sdn-ovs (version) exited with an error: ModuleNotFoundError: No module named 'sdn_ovs'",
          details: { hostError: "XENAPI_PLUGIN_FAILURE" },
        },
      });
    } finally {
      renameSync(`${lib}.away`, lib);
    }
    // A refusal of our own host program keeps its code.
    const missing = await hl.agentCall(ids["xcp"] as string, ApplyTunnels, {
      networkId: randomUUID(),
      greKey: 1,
      remotes: [],
    });
    expect(missing).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND", details: { hostError: "BRIDGE_NOT_FOUND" } },
    });
  }, 60_000);

  it("answers truthfully from the KVM script: exit status and answer agree", async () => {
    const script = join(kvm.programDir, "sdn-ovs-kvm");
    const failed = await kvm.exec(
      [script, "apply_tunnels"],
      JSON.stringify({ networkId: "nope", key: 1, remotes: [] }),
    );
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ ok: false, error: { code: "BRIDGE_NOT_FOUND" } });
    const bad = await kvm.exec(
      [script, "apply_tunnels"],
      JSON.stringify({ networkId: "nope", key: 2 ** 32, remotes: [] }),
    );
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    const fine = await kvm.exec([script, "ovs_state"], "{}");
    expect(fine.code).toBe(0);
    expect(JSON.parse(fine.stdout).ok).toBe(true);
  });
});
