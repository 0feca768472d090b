import type { Nic } from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec, type KvmLabHost, type LabVm, type XapiLabHost } from "../lab/index.js";
import { ElementLab, ovsView, type AnyLabHost } from "./element-lab.js";

/*
 * Tenant isolation on the host side (issue #15): a NIC names its VM and the host must agree
 * the device is that VM's (KVM: libvirt's domain records; XenServer / XCP-ng: the VM's VIFs
 * in XAPI); only VM ports are ever plugged; a VM is its first plugger's until its last NIC
 * goes; router NICs are unplugged by admins only.
 */

let el: ElementLab;
let kvm: KvmLabHost;
let xen: XapiLabHost;
let a: { accountId: string; token: string };
let b: { accountId: string; token: string };
const net = { a: "", b: "" };
const vm: Record<string, LabVm> = {};
const nics: Record<string, Nic> = {};

beforeAll(async () => {
  el = await ElementLab.start();
  kvm = await el.lab.addKvmHost("kvm");
  xen = await el.lab.addXapiHost("xen", { flavour: "xcp-ng" });
  for (const h of [kvm, xen]) await el.register(h);
  a = await el.gateway.tenant("acme");
  b = await el.gateway.tenant("globex");
  net.a = await el.createNetwork("a", "192.168.61.0/24", a.token);
  net.b = await el.createNetwork("b", "192.168.62.0/24", b.token);
  vm["a1"] = await kvm.addVm("a1", "192.168.61.11/24");
  vm["a2"] = await kvm.addVm("a2", "192.168.61.12/24");
  vm["ax"] = await xen.addVm("ax", "192.168.61.13/24");
  vm["ax2"] = await xen.addVm("ax2", "192.168.61.14/24");
  vm["b1"] = await kvm.addVm("b1", "192.168.62.11/24");
  vm["bx"] = await xen.addVm("bx", "192.168.62.13/24");
}, 180_000);

afterAll(async () => {
  await el?.close();
}, 120_000);

const plug = (network: string, body: object, token: string) =>
  el.http("POST", `/v1/networks/${network}/nics`, body, token);

/** A refusal: the status, the code, and nothing of tenant A in it. */
const expectRefused = async (res: Awaited<ReturnType<typeof plug>>, status: number, code: string, text: RegExp) => {
  expect([res.statusCode, res.json<{ error?: { code: string } }>().error?.code], res.body).toEqual([status, code]);
  expect(res.body).toMatch(text);
  expect(res.body).not.toContain(a.accountId);
  for (const nic of Object.values(nics)) expect(res.body).not.toContain(nic.id);
};

const body = (h: AnyLabHost, v: LabVm, overrides: object = {}) => ({ ...el.plugBody(h, v), ...overrides });

describe("host-side tenant isolation", () => {
  it("plugs each tenant's own VMs (KVM and XCP-ng) and they ping", async () => {
    for (const [name, h] of [
      ["a1", kvm],
      ["ax", xen],
    ] as const) {
      const res = await plug(net.a, body(h, vm[name] as LabVm), a.token);
      expect(res.statusCode, res.body).toBe(201);
      nics[name] = res.json<Nic>();
    }
    expect(await (vm["a1"] as LabVm).ping((vm["ax"] as LabVm).ip)).toBe(true);
  }, 90_000);

  it("refuses tenant B a device of tenant A's VM, on KVM and on XCP-ng", async () => {
    // B names its own VM with a device of A's (not yet plugged) VM: the host's records say no.
    await expectRefused(
      await plug(net.b, body(kvm, vm["b1"] as LabVm, { hostInterface: (vm["a2"] as LabVm).hostDevice }), b.token),
      403,
      "FORBIDDEN",
      /is not an interface of VM b1/,
    );
    const viaXapi = {
      vmId: (vm["bx"] as LabVm).uuid,
      hostId: el.hostId(xen),
      hostInterface: (vm["ax2"] as LabVm).hostDevice,
    };
    await expectRefused(await plug(net.b, viaXapi, b.token), 403, "FORBIDDEN", /is not an interface of VM/);
    // B names A's VM itself: the VM is A's (A plugged it first), whatever device is named.
    for (const [h, name, device] of [
      [kvm, "a1", (vm["a1"] as LabVm).hostDevice],
      [xen, "ax", undefined],
    ] as const) {
      const v = vm[name] as LabVm;
      const res = await plug(
        net.b,
        { ...el.plugBody(h, v), ...(device === undefined ? {} : { hostInterface: device }) },
        b.token,
      );
      await expectRefused(res, 403, "FORBIDDEN", /belongs to another account/);
    }
    // Nothing of B's reached the hosts.
    expect((await ovsView(kvm, net.b)).bridge).toBeUndefined();
    expect((await ovsView(xen, net.b)).bridge).toBeUndefined();
  }, 90_000);

  it("refuses the host's own devices: the underlay, its bridges, the loopback", async () => {
    await exec(["ip", "-n", kvm.ns, "link", "add", "virbr0", "type", "bridge"]);
    for (const device of ["eth0", "br-phy", "virbr0", "lo"]) {
      const res = await plug(net.b, body(kvm, vm["b1"] as LabVm, { hostInterface: device }), b.token);
      await expectRefused(res, 403, "FORBIDDEN", new RegExp(`${device} is not a VM's interface`));
    }
    // The underlay port is a veth like a VM's: what gives it away is the bridge holding it.
    const res = await plug(net.b, body(kvm, vm["b1"] as LabVm, { hostInterface: "eth0" }), b.token);
    expect(res.body).toContain("a member of a bridge or bond the controller does not manage");
    const xapiEth0 = { vmId: (vm["bx"] as LabVm).uuid, hostId: el.hostId(xen), hostInterface: "eth0" };
    await expectRefused(await plug(net.b, xapiEth0, b.token), 403, "FORBIDDEN", /eth0 is not an interface of VM/);
  }, 90_000);

  it("lets tenant B plug its own VMs, and tenant A's VM once A's last NIC of it is gone", async () => {
    for (const [name, h] of [
      ["b1", kvm],
      ["bx", xen],
    ] as const) {
      const res = await plug(net.b, body(h, vm[name] as LabVm), b.token);
      expect(res.statusCode, res.body).toBe(201);
    }
    expect(await (vm["b1"] as LabVm).ping((vm["bx"] as LabVm).ip)).toBe(true);
    const nic = nics["a1"] as Nic;
    expect((await el.http("DELETE", `/v1/networks/${net.a}/nics/${nic.id}`, undefined, a.token)).statusCode).toBe(200);
    const a1 = vm["a1"] as LabVm;
    const res = await plug(net.b, body(kvm, a1, { ip: "192.168.62.21" }), b.token);
    expect(res.statusCode, res.body).toBe(201);
  }, 90_000);

  it("lets only admins unplug a router NIC", async () => {
    const router = await kvm.addVm("router-a", "192.168.61.1/24");
    const nic = await el.plug(net.a, { ...body(kvm, router), ip: "192.168.61.1", role: "router" });
    const url = `/v1/networks/${net.a}/nics/${nic.id}`;
    const refused = await el.http("DELETE", url, undefined, a.token);
    expect([refused.statusCode, refused.json<{ error?: { code: string } }>().error?.code]).toEqual([403, "FORBIDDEN"]);
    expect(refused.body).toContain("only admins unplug it");
    expect((await ovsView(kvm, net.a)).ports).toContain(router.hostDevice);
    expect((await el.http("DELETE", url)).statusCode).toBe(200);
  }, 90_000);
});
