import { CommandError, type Hypervisor } from "@sdn/contracts";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostFailure, HostProgramError, toCommandError } from "../errors.js";
import { createDriver } from "../factory.js";
import { HOST_PROGRAMS_DIR, HOST_PROGRAMS_VERSION } from "../host-programs.js";
import { KvmDriver, kvmBridgeName } from "../kvm/kvm-driver.js";
import { XapiDriver } from "../xapi/xapi-driver.js";
import { SimulatedDriver } from "./simulated-driver.js";
import { tunnelPortName } from "@sdn/ovsdb";

let dir: string;
const NET = randomUUID();
const OTHER = randomUUID();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sdn-sim-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const driver = (hypervisor: Hypervisor = "xenserver", address = "10.99.0.11") =>
  new SimulatedDriver({ address, hypervisor, stateDir: dir });

/** The host error code a call fails with. */
const codeOf = async (p: Promise<unknown>): Promise<string> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err instanceof HostProgramError) return err.hostError;
  if (err instanceof HostFailure) return err.reason;
  throw new Error(`expected a host error, got ${String(err)}`);
};

describe("simulated host driver", () => {
  it("says it is simulated, and its tunnel endpoint is its address", async () => {
    const facts = await driver("xcp-ng").identify();
    expect(facts).toEqual({
      platform: { name: "Simulated XCP-ng", version: "simulator", ovsVersion: "simulated" },
      programsVersion: HOST_PROGRAMS_VERSION,
      tunnelInterface: { device: "sim0", ip: "10.99.0.11", netmask: "255.255.255.255", prefixLength: 32, mac: null },
    });
    expect(await driver("kvm").ping()).toBe(HOST_PROGRAMS_VERSION);
    expect((await driver("kvm").fetchInterface("storage")).label).toBe("storage");
    // A DNS name gives no tunnel address without a network to resolve it on.
    expect(await codeOf(driver("kvm", "sim-host.example").identify())).toBe("TUNNEL_INTERFACE_NOT_FOUND");
  });

  it("sets up bridges idempotently, named as each hypervisor names them", async () => {
    const xen = driver("xenserver");
    expect(await xen.setupBridge({ networkId: NET })).toEqual({ bridge: "xapi0", created: true });
    expect(await xen.setupBridge({ networkId: NET })).toEqual({ bridge: "xapi0", created: false });
    expect(await xen.setupBridge({ networkId: OTHER })).toEqual({ bridge: "xapi1", created: true });
    const kvm = driver("kvm", "10.99.0.13");
    expect(await kvm.setupBridge({ networkId: NET })).toEqual({ bridge: kvmBridgeName(NET), created: true });

    expect(await xen.destroyBridge({ networkId: NET })).toEqual({ bridge: "xapi0", destroyed: true });
    expect(await xen.destroyBridge({ networkId: NET })).toEqual({ bridge: null, destroyed: false });
    expect((await xen.ovsState({})).bridges.map((b) => b.name)).toEqual(["xapi1"]);
  });

  it("makes a network's tunnels exactly the given set, protected, as the host programs name them", async () => {
    const d = driver();
    const remotes = [{ ip: "10.99.0.12", hostId: "h2" }, { ip: "10.99.0.13" }];
    expect(await codeOf(d.applyTunnels({ networkId: NET, greKey: 7, remotes }))).toBe("BRIDGE_NOT_FOUND");
    await d.setupBridge({ networkId: NET });
    const first = await d.applyTunnels({ networkId: NET, greKey: 7, remotes });
    const names = remotes.map((r) => tunnelPortName(7, r.ip));
    expect(first.added).toEqual([...names].sort());
    expect(first.removed).toEqual([]);
    const again = await d.applyTunnels({ networkId: NET, greKey: 7, remotes });
    expect({ added: again.added, removed: again.removed, tunnels: again.tunnels }).toEqual({
      added: [],
      removed: [],
      tunnels: first.tunnels,
    });

    const [bridge] = (await d.ovsState({ networkId: NET })).bridges;
    const tunnel = bridge?.ports.find((p) => p.name === names[0]);
    expect(tunnel).toMatchObject({
      protected: true,
      externalIds: {
        "sdn-role": "tunnel",
        "sdn-network-id": NET,
        "sdn-peer-host-id": "h2",
        "sdn-remote-ip": "10.99.0.12",
      },
      interfaces: [{ type: "gre", options: { remote_ip: "10.99.0.12", key: "7" } }],
    });
    // The bridge's own internal port is reported, as Open vSwitch has one.
    expect(bridge?.ports.map((p) => p.name)).toContain(bridge?.name);

    const shrunk = await d.applyTunnels({ networkId: NET, greKey: 7, remotes: [remotes[1] as { ip: string }] });
    expect(shrunk).toMatchObject({ added: [], removed: [names[0]] });
    expect((await d.applyTunnels({ networkId: NET, greKey: 7, remotes: [] })).removed).toEqual([names[1]]);
    const twice = [{ ip: "10.99.0.12" }, { ip: "10.99.0.12" }];
    expect(await codeOf(d.applyTunnels({ networkId: NET, greKey: 7, remotes: twice }))).toBe("INVALID_ARGUMENT");
  });

  it("names tunnel ports exactly as the host program (sdn_ovs_tunnels.py) does, GRE and VXLAN apart", () => {
    const python = (type: string) =>
      execFileSync(
        "python3",
        [
          "-c",
          "import sys, sdn_ovs_tunnels; print(sdn_ovs_tunnels.tunnel_port_name(int(sys.argv[1]), sys.argv[2], sys.argv[3]))",
          "4242",
          "10.1.2.3",
          type,
        ],
        { cwd: HOST_PROGRAMS_DIR, encoding: "utf8" },
      ).trim();
    expect(tunnelPortName(4242, "10.1.2.3")).toBe(python("gre"));
    expect(tunnelPortName(4242, "10.1.2.3", "vxlan")).toBe(python("vxlan"));
    expect(tunnelPortName(4242, "10.1.2.3", "vxlan")).not.toBe(tunnelPortName(4242, "10.1.2.3"));
  });

  it("plugs and unplugs the guests' ports with the host programs' refusals", async () => {
    const d = driver("xenserver");
    const [vm] = (await d.listVms()).vms;
    const device = vm?.nics[0]?.device as string;
    expect(device).toBe("vif1.0");
    const plug = { networkId: NET, device, nicId: "nic-1", mac: "02:AA:BB:CC:DD:EE", vmId: vm?.id as string };
    expect(await codeOf(d.plugVif(plug))).toBe("BRIDGE_NOT_FOUND");
    await d.setupBridge({ networkId: NET });
    await d.setupBridge({ networkId: OTHER });
    expect(await codeOf(d.plugVif({ ...plug, device: "vif9.9" }))).toBe("DEVICE_NOT_FOUND");
    expect(await d.plugVif(plug)).toEqual({ bridge: "xapi0", port: device });
    expect(await d.plugVif(plug)).toEqual({ bridge: "xapi0", port: device });
    expect(await codeOf(d.plugVif({ ...plug, networkId: OTHER }))).toBe("OVS_COMMAND_FAILED");

    const port = (await d.ovsState({ networkId: NET })).bridges[0]?.ports.find((p) => p.name === device);
    expect(port).toMatchObject({
      externalIds: { "sdn-role": "vif", "sdn-nic-id": "nic-1", "sdn-managed": "true" },
      interfaces: [{ externalIds: { "iface-id": "nic-1", "attached-mac": "02:aa:bb:cc:dd:ee", "vm-id": vm?.id } }],
    });
    expect((await d.listVms()).vms[0]?.nics[0]?.bridge).toBe("xapi0");

    expect(await codeOf(d.unplugVif({ networkId: OTHER, device }))).toBe("NOT_MANAGED");
    expect(await d.unplugVif({ networkId: NET, device })).toEqual({ port: device, removed: true });
    expect(await d.unplugVif({ networkId: NET, device })).toEqual({ port: device, removed: false });
    expect((await d.listVms()).vms[0]?.nics[0]?.bridge).toBeNull();
  });

  it("gives KVM guests libvirt's tap names and every host its own guests", async () => {
    const kvm = (await driver("kvm", "10.99.0.13").listVms()).vms;
    expect(kvm.flatMap((v) => v.nics.map((n) => n.device)).slice(0, 3)).toEqual(["vnet0", "vnet1", "vnet2"]);
    const xen = (await driver("xenserver", "10.99.0.11").listVms()).vms;
    expect(new Set([...kvm, ...xen].map((v) => v.id)).size).toBe(kvm.length + xen.length);
    expect(kvm.every((v) => v.powerState === "Running")).toBe(true);
  });

  it("keeps a host's state in its file across drivers, as a host keeps it across agent restarts", async () => {
    const before = driver();
    await before.setupBridge({ networkId: NET });
    await before.applyTunnels({ networkId: NET, greKey: 9, remotes: [{ ip: "10.99.0.12" }] });
    const state = await before.ovsState({});
    const vms = await before.listVms();
    await before.close();

    const file = JSON.parse(readFileSync(join(dir, "10.99.0.11.json"), "utf8")) as { bridges: { name: string }[] };
    expect(file.bridges.map((b) => b.name)).toEqual(["xapi0"]);
    const after = driver();
    expect(await after.ovsState({})).toEqual(state);
    expect(await after.listVms()).toEqual(vms);
    expect(await after.setupBridge({ networkId: NET })).toEqual({ bridge: "xapi0", created: false });
  });

  it("serializes concurrent changes of one host from several drivers: none is lost", async () => {
    const drivers = [driver(), driver()];
    const networks = Array.from({ length: 12 }, () => randomUUID());
    const made = await Promise.all(
      networks.map((networkId, i) => (drivers[i % 2] as SimulatedDriver).setupBridge({ networkId })),
    );
    expect(new Set(made.map((m) => m.bridge)).size).toBe(networks.length);
    expect((await driver().ovsState({})).bridges).toHaveLength(networks.length);
  });

  it("refuses router relays with a code that says the host is simulated", async () => {
    const err = await driver()
      .relayToRouter()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostProgramError);
    let answer: unknown;
    try {
      toCommandError(err);
    } catch (e) {
      answer = e;
    }
    expect(answer).toBeInstanceOf(CommandError);
    expect(answer).toMatchObject({ code: "UNPROCESSABLE", details: { hostError: "SIMULATED_HOST_HAS_NO_ROUTERS" } });
  });

  it("replaces every real driver only when SDN_AGENT_SIMULATOR is on", () => {
    const config = {
      SDN_HOST_CONNECT_TIMEOUT_MS: 1000,
      SDN_HOST_COMMAND_TIMEOUT_MS: 1000,
      SDN_KVM_PROGRAM_DIR: "/opt/sdn-agent",
      SDN_SSH_MAX_SESSIONS: 2,
      SDN_KVM_OVSDB: true,
      SDN_DATA_DIR: dir,
    };
    const target = (hypervisor: Hypervisor) => ({
      host: { hypervisor, address: "10.99.0.11", port: 443, username: "root" },
      credentials: { password: randomUUID() },
    });
    for (const h of ["xenserver", "xcp-ng", "kvm"] as const) {
      expect(createDriver(target(h), { ...config, SDN_AGENT_SIMULATOR: true }, "test")).toBeInstanceOf(SimulatedDriver);
    }
    expect(createDriver(target("kvm"), { ...config, SDN_AGENT_SIMULATOR: false }, "test")).toBeInstanceOf(KvmDriver);
    expect(createDriver(target("xcp-ng"), { ...config, SDN_AGENT_SIMULATOR: false }, "test")).toBeInstanceOf(
      XapiDriver,
    );
  });
});
