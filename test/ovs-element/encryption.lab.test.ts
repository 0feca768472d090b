import type { Network, Nic } from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureTunnels, type LabVm } from "../lab/index.js";
import { ElementLab, ovsView, type AnyLabHost } from "./element-lab.js";

/*
 * Fail closed on hosts that cannot encrypt. The emulated lab's hosts run OVS's userspace
 * (netdev) datapath: its tunnel packets never pass the kernel's IPsec, so an encrypted
 * network's tunnels there would carry cleartext. An encrypted network's NIC is refused with
 * IPSEC_DATAPATH_UNSUPPORTED, no tunnel of it (and no key) is written on either host, and the
 * underlay carries none of its packets; a plain network on the same hosts works as before.
 */

const CIDR = "192.168.90.0/24";

describe("an encrypted network on hosts whose datapath cannot encrypt", () => {
  let el: ElementLab;
  let hosts: [AnyLabHost, AnyLabHost];
  let tenant: { accountId: string; token: string };
  const net: Record<"plain" | "enc", Network> = {} as never;
  const vms: Record<"plain" | "enc", LabVm[]> = { plain: [], enc: [] };

  const getNetwork = async (id: string) =>
    (await el.http("GET", `/v1/networks/${id}`, undefined, tenant.token)).json<Network>();

  beforeAll(async () => {
    el = await ElementLab.start();
    hosts = [await el.lab.addKvmHost("kvm1"), await el.lab.addKvmHost("kvm2")];
    for (const h of hosts) await el.register(h);
    tenant = await el.gateway.tenant("acme");
    for (const [kind, encryption] of [
      ["plain", "none"],
      ["enc", "ipsec"],
    ] as const) {
      const res = await el.http("POST", "/v1/networks", { name: `net-${kind}`, cidr: CIDR, encryption }, tenant.token);
      expect(res.statusCode, res.body).toBe(201);
      net[kind] = res.json<Network>();
    }
    for (const [j, kind] of (["plain", "enc"] as const).entries()) {
      for (const [i, h] of hosts.entries())
        vms[kind].push(await h.addVm(`${kind}${i}`, `192.168.90.${11 + 10 * j + i}/24`));
    }
    for (const [i, h] of hosts.entries()) {
      await el.plug(net.plain.id, el.plugBody(h, vms.plain[i] as LabVm), tenant.token);
    }
  }, 240_000);

  afterAll(async () => {
    await el?.close();
  }, 120_000);

  it("refuses the encrypted network's NICs with the reason, writes none of its tunnels, and leaks nothing", async () => {
    expect(net.enc.encryption).toBe("ipsec");
    const [p0, p1] = vms.plain as [LabVm, LabVm];
    const [e0, e1] = vms.enc as [LabVm, LabVm];
    const refusals: { statusCode: number; body: string }[] = [];
    for (const [i, h] of hosts.entries()) {
      const body = el.plugBody(h, vms.enc[i] as LabVm);
      // The tenant reads the reason (the host's own words are for admins).
      refusals.push(await el.http("POST", `/v1/networks/${net.enc.id}/nics`, body, tenant.token));
    }
    // Both networks' VMs try to talk while the underlay is watched (after the plugs: under
    // load a plug can outlast a short capture).
    const seen = await captureTunnels(el.lab, hosts[0], 5, () => Promise.all([p0.ping(p1.ip, 3), e0.ping(e1.ip, 2)]));
    for (const r of refusals) {
      expect(r.statusCode, r.body).toBe(422);
      expect(r.body).toContain("IPSEC_DATAPATH_UNSUPPORTED");
    }
    // No tunnel of the encrypted network on either host, and no key anywhere in OVSDB.
    for (const h of hosts) {
      expect((await ovsView(h, net.enc.id)).tunnels, h.name).toEqual([]);
      expect(await h.vsctl("--columns=name", "find", "Interface", `external_ids:sdn-network-id=${net.enc.id}`)).toBe(
        "",
      );
      expect(await h.vsctl("--columns=name", "find", "Interface", "options:psk!=''")).not.toMatch(/gre-|vxl-/);
    }
    const enc = await getNetwork(net.enc.id);
    const plain = await getNetwork(net.plain.id);
    // The plain network's pings crossed as GRE with its key; nothing of the encrypted one did.
    expect(seen[`gre:${plain.greKey}`]?.icmp, JSON.stringify(seen)).toBeGreaterThanOrEqual(6);
    expect(Object.keys(seen), JSON.stringify(seen)).toEqual([`gre:${plain.greKey}`]);
    if (enc.greKey !== undefined) expect(seen[`gre:${enc.greKey}`]).toBeUndefined();
    expect(await e0.ping(e1.ip, 1)).toBe(false);
  });

  it("leaves the plain network on the same hosts working", async () => {
    const [p0, p1] = vms.plain as [LabVm, LabVm];
    expect(await p0.ping(p1.ip, 2)).toBe(true);
    const rows = (await el.http("GET", `/v1/networks/${net.plain.id}/tunnels`, undefined, tenant.token)).json<{
      tunnels: { state: string }[];
    }>().tunnels;
    expect(rows.map((t) => t.state)).toEqual(["Established", "Established"]);
    const nics = (await el.http("GET", `/v1/networks/${net.enc.id}/nics`, undefined, tenant.token)).json<{
      nics: Nic[];
    }>();
    expect(nics.nics).toEqual([]);
  });
});
