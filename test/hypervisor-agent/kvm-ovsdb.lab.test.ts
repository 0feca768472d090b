import type { GetOvsState, ResponseOf } from "@sdn/contracts";
import { KvmDriver } from "@sdn/hypervisor-agent";
import { renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KVM_PROGRAM_DIR, Lab, type KvmLabHost } from "../lab/index.js";

let lab: Lab;
let a: KvmLabHost;
let b: KvmLabHost;
const logged: string[] = [];
const drivers: KvmDriver[] = [];

const driverOf = (h: KvmLabHost, ovsdb: boolean): KvmDriver => {
  const d = new KvmDriver({
    ssh: h.sshOptions(),
    programDir: KVM_PROGRAM_DIR,
    commandTimeoutMs: 15_000,
    ovsdb,
    log: {
      info: (_f, m) => logged.push(`info ${h.name}: ${m}`),
      warn: (_f, m) => logged.push(`warn ${h.name}: ${m}`),
    },
  });
  drivers.push(d);
  return d;
};

/** The configuration a state holds (ofport, MAC and error are vswitchd's, filled in later). */
const config = (s: ResponseOf<typeof GetOvsState>) =>
  s.bridges.map((br) => ({
    ...br,
    ports: br.ports.map((p) => ({
      ...p,
      interfaces: p.interfaces.map(({ ofport: _o, mac: _m, error: _e, ...i }) => i),
    })),
  }));

beforeAll(async () => {
  lab = await Lab.create();
  a = await lab.addKvmHost("a");
  b = await lab.addKvmHost("b");
}, 120_000);
afterAll(async () => {
  for (const d of drivers) await d.close();
  await lab?.dispose();
});

describe("the agent drives KVM hosts' OVS over OVSDB through the SSH connection", () => {
  it("reaches the host's db.sock through SSH, with no port opened on the host", async () => {
    const d = driverOf(a, true);
    await d.identify();
    expect(d.ovsdb?.connected).toBe(true);
    expect(logged).toContain("info a: driving Open vSwitch over OVSDB");
    // Only sshd listens on the host: the database is reached as a forwarded unix socket.
    const listening = (await a.exec(["ss", "-Hltn"])).stdout.trim().split("\n");
    expect(listening.map((l) => l.split(/\s+/)[3])).toEqual([`${a.address}:22`]);
  });

  it("leaves exactly what the host program leaves, and answers alike", async () => {
    const program = driverOf(a, false);
    const native = driverOf(a, true);
    const net = "net-parity";
    const remotes = [{ ip: b.address, hostId: "host-b" }, { ip: "10.250.0.9" }, { ip: "10.250.0.10" }];

    const viaProgram = {
      setup: await program.setupBridge({ networkId: net }),
      tunnels: await program.applyTunnels({ networkId: net, greKey: 4242, remotes }),
      shrink: await program.applyTunnels({ networkId: net, greKey: 4242, remotes: remotes.slice(0, 2) }),
    };
    const stateProgram = await program.ovsState({ networkId: net });
    expect(await program.destroyBridge({ networkId: net })).toMatchObject({ destroyed: true });

    const viaOvsdb = {
      setup: await native.setupBridge({ networkId: net }),
      tunnels: await native.applyTunnels({ networkId: net, greKey: 4242, remotes }),
      shrink: await native.applyTunnels({ networkId: net, greKey: 4242, remotes: remotes.slice(0, 2) }),
    };
    expect(viaOvsdb).toEqual(viaProgram);
    // The program's own report of what OVSDB built, and OVSDB's report (from its cache).
    expect(config(await program.ovsState({ networkId: net }))).toEqual(config(stateProgram));
    expect(config(await native.ovsState({ networkId: net }))).toEqual(config(stateProgram));
    expect(await native.destroyBridge({ networkId: net })).toEqual({
      bridge: viaProgram.setup.bridge,
      destroyed: true,
    });
    expect((await a.vsctl("list-br")).trim().split("\n")).toEqual(["br-phy"]);
  });

  it("needs no host program to change tunnels once connected (one transaction, no process)", async () => {
    const native = driverOf(a, true);
    const program = driverOf(a, false);
    await native.identify();
    await program.identify();
    const script = join(a.programDir, "sdn-ovs-kvm");
    renameSync(script, `${script}.away`);
    try {
      await expect(program.applyTunnels({ networkId: "net-x", greKey: 1, remotes: [] })).rejects.toMatchObject({
        hostError: "PROGRAMS_MISSING",
      });
      await native.setupBridge({ networkId: "net-x" });
      const remotes = Array.from({ length: 100 }, (_, i) => ({ ip: `10.251.${i >> 8}.${i & 255}` }));
      const r = await native.applyTunnels({ networkId: "net-x", greKey: 7, remotes });
      expect(r.added).toHaveLength(100);
      expect((await a.vsctl("list-ports", r.bridge)).trim().split("\n")).toHaveLength(100);
      await expect(native.applyTunnels({ networkId: "net-absent", greKey: 7, remotes })).rejects.toMatchObject({
        hostError: "BRIDGE_NOT_FOUND",
      });
      expect(await native.destroyBridge({ networkId: "net-x" })).toMatchObject({ destroyed: true });
    } finally {
      renameSync(`${script}.away`, script);
    }
  });

  it("carries VM traffic over GRE tunnels that OVSDB built", async () => {
    const [da, db] = [driverOf(a, true), driverOf(b, true)];
    const net = "net-ping";
    const va = await a.addVm("va", "192.168.61.1/24");
    const vb = await b.addVm("vb", "192.168.61.2/24");
    for (const [d, vm, peer] of [
      [da, va, b],
      [db, vb, a],
    ] as const) {
      await d.setupBridge({ networkId: net });
      await d.applyTunnels({ networkId: net, greKey: 610, remotes: [{ ip: peer.address }] });
      await d.plugVif({ networkId: net, device: vm.hostDevice, nicId: `nic-${vm.name}`, mac: vm.mac, vmId: vm.name });
    }
    expect(await va.ping(vb.ip)).toBe(true);
  });
});
