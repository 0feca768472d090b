import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadControllerPki } from "../../services/hypervisor-agent/src/drivers/xapi/controller-pki.js";
import { XapiDriver } from "../../services/hypervisor-agent/src/drivers/xapi/xapi-driver.js";
import { KvmDriver } from "../../services/hypervisor-agent/src/drivers/kvm/kvm-driver.js";
import { KVM_PROGRAM_DIR, Lab, type KvmLabHost, type XapiLabHost } from "../lab/index.js";
import type { XapiRelease } from "../lab/xapi/server.js";

let lab: Lab;
let xen: XapiLabHost;
let kvm: KvmLabHost;
const dataDir = mkdtempSync(join(tmpdir(), "sdn-xapi-ovsdb-"));
const drivers: { close(): Promise<void> }[] = [];
const drifts: string[][] = [];

const xapiDriver = (h: XapiLabHost, takeOver = false): XapiDriver => {
  const d = new XapiDriver({
    address: h.address,
    port: h.port,
    username: h.username,
    password: h.password,
    tls: { certificate: h.caCertificate },
    timeoutMs: 15_000,
    originator: "xapi-ovsdb.lab.test",
    tunnelNetworkLabel: h.tunnelNetworkLabel,
    ovsdb: { pki: () => loadControllerPki(dataDir), takeOver },
    onDrift: (networks) => drifts.push(networks),
  });
  drivers.push(d);
  return d;
};

const xapiHost = async (name: string, release: XapiRelease): Promise<XapiLabHost> =>
  lab.addXapiHost(name, { flavour: release.startsWith("xenserver") ? "xenserver" : "xcp-ng", release });

beforeAll(async () => {
  lab = await Lab.create();
  xen = await xapiHost("xen", "xenserver-8");
  kvm = await lab.addKvmHost("kvm");
}, 180_000);
afterAll(async () => {
  for (const d of drivers) await d.close();
  await lab?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("XenServer / XCP-ng hosts driven over OVSDB on TLS port 6640", () => {
  it("enrols the pool (our CA, SDN_controller pssl) and connects verifying the host's certificate", async () => {
    const d = xapiDriver(xen);
    await d.identify();
    expect(d.southboundStatus()).toEqual({ path: "ovsdb" });
    const pki = await loadControllerPki(dataDir);
    // pool.install_ca_certificate wrote our CA where openvswitch-config-update reads it.
    expect(readFileSync(join(xen.certsDir, "sdn-controller-ca.pem"), "utf8")).toBe(pki.caCertificate);
    expect((await xen.vsctl("get-manager")).trim()).toBe("pssl:6640");
    expect((await xen.vsctl("get", "SSL", ".", "ca_cert")).trim()).toBe(
      JSON.stringify(join(xen.certsDir, "sdn-controller-ca.pem")),
    );
    // A second driver (a restarted agent) finds the pool already ours: no second introduce.
    const again = xapiDriver(xen);
    await again.identify();
    expect(again.southboundStatus()).toEqual({ path: "ovsdb" });
    await again.close();
  });

  it("applies tunnels in one OVSDB transaction, not through the plugin, and VMs ping a KVM host", async () => {
    const x = xapiDriver(xen);
    const k = new KvmDriver({
      ssh: kvm.sshOptions(),
      programDir: KVM_PROGRAM_DIR,
      commandTimeoutMs: 15_000,
      ovsdb: true,
    });
    drivers.push(k);
    const net = "net-xk";
    const vx = await xen.addVm("vx", "192.168.71.1/24");
    const vk = await kvm.addVm("vk", "192.168.71.2/24");
    const before = await xen.pluginCalls();
    for (const [d, vm, peer, vmId] of [
      [x, vx, kvm, vx.uuid],
      [k, vk, xen, vk.name],
    ] as const) {
      await d.setupBridge({ networkId: net });
      await d.applyTunnels({ networkId: net, greKey: 710, remotes: [{ ip: peer.address }] });
      await d.plugVif({ networkId: net, device: vm.hostDevice, nicId: `nic-${vm.name}`, mac: vm.mac, vmId });
    }
    expect(await vx.ping(vk.ip)).toBe(true);
    const after = await xen.pluginCalls();
    const delta = (call: string) => (after[call] ?? 0) - (before[call] ?? 0);
    expect(delta("sdn-ovs apply_tunnels")).toBe(0);
    expect(delta("sdn-ovs setup_bridge")).toBe(0);
    // VIFs stay with XAPI and the plugin.
    expect(delta("sdn-ovs plug_vif")).toBe(1);
    const state = await x.ovsState({ networkId: net });
    expect(state.bridges[0]?.ports.some((p) => p.interfaces.some((i) => i.type === "gre"))).toBe(true);
  });

  it("reports a tunnel port deleted on the XAPI host at once, and the next apply puts it back", async () => {
    const x = xapiDriver(xen);
    const net = "net-drift";
    await x.setupBridge({ networkId: net });
    const r = await x.applyTunnels({ networkId: net, greKey: 711, remotes: [{ ip: kvm.address }] });
    const port = r.added[0] as string;
    drifts.length = 0;
    const started = Date.now();
    await xen.vsctl("del-port", port);
    while (!drifts.some((n) => n.includes(net)) && Date.now() - started < 2_000) {
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(drifts.some((n) => n.includes(net))).toBe(true);
    const again = await x.applyTunnels({ networkId: net, greKey: 711, remotes: [{ ip: kvm.address }] });
    expect(again.added).toEqual([port]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await xen.vsctl("list-ports", r.bridge)).trim().split("\n")).toContain(port);
  });

  it("refuses a host whose OVSDB presents another certificate (HOST_CERT_MISMATCH) and uses the plugin", async () => {
    const other = await xapiHost("swapped", "xcp-ng-8.3");
    const first = xapiDriver(other);
    await first.identify();
    expect(first.southboundStatus().path).toBe("ovsdb");
    await first.close();
    await other.replaceOvsdbCertificate();
    const d = xapiDriver(other);
    await d.identify();
    expect(d.southboundStatus()).toMatchObject({ path: "program", code: "HOST_CERT_MISMATCH" });
    const before = (await other.pluginCalls())["sdn-ovs apply_tunnels"] ?? 0;
    await d.setupBridge({ networkId: "net-mismatch" });
    await d.applyTunnels({ networkId: "net-mismatch", greKey: 712, remotes: [{ ip: kvm.address }] });
    expect((await other.pluginCalls())["sdn-ovs apply_tunnels"]).toBe(before + 1);
  });

  it("falls back to the plugin on a release without SDN_controller (Xen Cloud Platform 1.6)", async () => {
    const old = await xapiHost("old", "xcp-1.6");
    const d = xapiDriver(old);
    await d.identify();
    expect(d.southboundStatus()).toMatchObject({ path: "program", code: "SDN_CONTROLLER_UNSUPPORTED" });
    expect(existsSync(join(old.certsDir, "sdn-controller-ca.pem"))).toBe(false);
    await d.setupBridge({ networkId: "net-old" });
    await d.applyTunnels({ networkId: "net-old", greKey: 713, remotes: [{ ip: kvm.address }] });
    expect((await old.pluginCalls())["sdn-ovs apply_tunnels"]).toBe(1);
  });
});
