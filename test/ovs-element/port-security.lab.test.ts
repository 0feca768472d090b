import type { Nic } from "@sdn/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KvmLabHost, LabVm } from "../lab/index.js";
import { exec } from "../lab/index.js";
import { ElementLab, ovsView } from "./element-lab.js";

/*
 * Port security through OpenFlow: each guest port may send only from its MAC and address
 * (plus ARP for that address and DHCP discovery). The attacks are real frames from a VM's
 * namespace; the same attack from a port plugged with portSecurity: false succeeds, so the
 * flows, not the lab, are what stops it.
 */

let el: ElementLab;
let k1: KvmLabHost;
let k2: KvmLabHost;
/** v1: the legitimate VM, v2: the peer, v3: the spoofer, v5: an appliance without port security. */
let v1: LabVm, v2: LabVm, v3: LabVm, v5: LabVm;
let networkId: string;
const plugged: Nic[] = [];

beforeAll(async () => {
  el = await ElementLab.start({ SDN_RECONCILE_INTERVAL_MS: "3600000" });
  [k1, k2] = [await el.lab.addKvmHost("p1"), await el.lab.addKvmHost("p2")];
  for (const h of [k1, k2]) await el.register(h);
  const tenant = await el.gateway.tenant("portsec");
  networkId = await el.createNetwork("portsec-net", "192.168.72.0/24", tenant.token);
  v1 = await k1.addVm("v1", "192.168.72.11/24");
  v3 = await k1.addVm("v3", "192.168.72.13/24");
  v5 = await k1.addVm("v5", "192.168.72.15/24");
  v2 = await k2.addVm("v2", "192.168.72.12/24");
  for (const [h, vm] of [
    [k1, v1],
    [k1, v3],
    [k2, v2],
  ] as const) {
    plugged.push(await el.plug(networkId, el.plugBody(h, vm), tenant.token));
  }
  plugged.push(await el.plug(networkId, { ...el.plugBody(k1, v5), portSecurity: false }, tenant.token));
}, 180_000);

afterAll(async () => {
  await el?.close();
}, 60_000);

const flowsOn = async (h: KvmLabHost): Promise<string> =>
  exec(h.argv(["ovs-ofctl", "--names", "dump-flows", (await ovsView(h, networkId)).bridge as string]));

/** The MAC v2 holds for v1's address (its ARP cache). */
const v2Neighbour = async (): Promise<string> => (await v2.run(["ip", "neigh", "show", v1.ip, "dev", "eth0"])).trim();

/** Sends from `vm` an ARP reply to v2 saying that v1's address is at `vm`'s MAC. */
const poison = async (vm: LabVm): Promise<void> => {
  const script = [
    "import socket, struct, time",
    "m = lambda s: bytes.fromhex(s.replace(':', ''))",
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)",
    "s.bind(('eth0', 0))",
    `me, peer = m('${vm.mac}'), m('${v2.mac}')`,
    "arp = struct.pack('!HHBBH', 1, 0x0800, 6, 4, 2)",
    `arp += me + socket.inet_aton('${v1.ip}') + peer + socket.inet_aton('${v2.ip}')`,
    "for _ in range(3):",
    "    s.send(peer + me + b'\\x08\\x06' + arp); time.sleep(0.05)",
  ].join("\n");
  await vm.run(["python3", "-c", script]);
};

it("lets every VM reach the others from its own address, and says so on the NIC", async () => {
  expect(plugged.map((n) => n.portSecurity)).toEqual([true, true, true, false]);
  for (const vm of [v1, v3, v5]) expect(await vm.ping(v2.ip), vm.name).toBe(true);
  const flows = await flowsOn(k1);
  // Secured ports have their flows; the appliance's port has none (the bridge's NORMAL applies).
  for (const vm of [v1, v3]) expect(flows).toContain(`in_port=${vm.hostDevice},dl_src=${vm.mac}`);
  expect(flows).not.toContain(`in_port=${v5.hostDevice}`);
});

it("drops what a VM sends from another IP address", async () => {
  await v3.run(["ip", "addr", "add", "192.168.72.50/24", "dev", "eth0"]);
  try {
    expect((await v3.exec(["ping", "-c", "2", "-i", "0.2", "-W", "1", "-I", "192.168.72.50", v2.ip])).code).not.toBe(0);
    expect(await v1.ping(v2.ip)).toBe(true);
  } finally {
    await v3.run(["ip", "addr", "del", "192.168.72.50/24", "dev", "eth0"]);
  }
  expect(await v3.ping(v2.ip)).toBe(true);
});

it("drops what a VM sends from another MAC", async () => {
  await v3.run(["ip", "link", "set", "dev", "eth0", "address", "02:00:00:00:66:66"]);
  try {
    await v3.run(["ip", "neigh", "flush", "dev", "eth0"]);
    expect(await v3.ping(v2.ip, 2)).toBe(false);
    expect(await v1.ping(v2.ip)).toBe(true);
  } finally {
    await v3.run(["ip", "link", "set", "dev", "eth0", "address", v3.mac]);
  }
  expect(await v3.ping(v2.ip)).toBe(true);
});

it("drops an ARP reply for another VM's address; the same reply from an unsecured port gets through", async () => {
  expect(await v1.ping(v2.ip)).toBe(true);
  expect(await v2.ping(v1.ip)).toBe(true);
  expect(await v2Neighbour()).toContain(v1.mac);
  // Linux takes a new address for a known neighbour only after its lock time (1 s).
  await new Promise((r) => setTimeout(r, 1_200));
  await poison(v3);
  await new Promise((r) => setTimeout(r, 200));
  expect(await v2Neighbour()).toContain(v1.mac);
  expect(await v2.ping(v1.ip)).toBe(true);

  await new Promise((r) => setTimeout(r, 1_200));
  await poison(v5);
  await new Promise((r) => setTimeout(r, 200));
  expect(await v2Neighbour()).toContain(v5.mac);
});
