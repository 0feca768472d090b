import type { Network, Nic, Tunnel } from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureTunnels, type LabVm } from "../lab/index.js";
import { ElementLab, ovsView, type AnyLabHost } from "./element-lab.js";

/*
 * A VXLAN network and a GRE network side by side, with the same CIDR, on the same two KVM
 * hypervisors: each network's VMs reach each other and nothing of the other network, and
 * the underlay carries one as UDP 4789 with its VNI, the other as GRE with its key. Run
 * twice: the agent building tunnels over OVSDB, then through the shared host program
 * (sdn_ovs.py, the XAPI plugin's code too; XAPI hosts were left out: under a loaded
 * machine their emulator's plugin calls alone passed a minute).
 */

const CIDR = "192.168.80.0/24";

describe.each([
  { path: "OVSDB", ovsdb: "true" },
  { path: "the host program", ovsdb: "false" },
])("tunnels built through $path", ({ ovsdb }) => {
  let el: ElementLab;
  let hosts: AnyLabHost[];
  let tenant: { accountId: string; token: string };
  const net: Record<"vxlan" | "gre", Network> = {} as never;
  const vms: Record<"vxlan" | "gre", LabVm[]> = { vxlan: [], gre: [] };
  const nics: Nic[] = [];

  const getNetwork = async (id: string) =>
    (await el.http("GET", `/v1/networks/${id}`, undefined, tenant.token)).json<Network>();

  beforeAll(async () => {
    el = await ElementLab.start({}, { SDN_KVM_OVSDB: ovsdb });
    hosts = [await el.lab.addKvmHost("kvm1"), await el.lab.addKvmHost("kvm2")];
    for (const h of hosts) await el.register(h);
    tenant = await el.gateway.tenant("acme");
    for (const encapsulation of ["vxlan", "gre"] as const) {
      // MTU 1500 asked: each NIC gets what its encapsulation leaves of the 1500-byte underlay.
      const body = { name: `net-${encapsulation}`, cidr: CIDR, encapsulation, mtu: 1500 };
      const res = await el.http("POST", "/v1/networks", body, tenant.token);
      expect(res.statusCode, res.body).toBe(201);
      net[encapsulation] = res.json<Network>();
    }
    for (const [j, n] of (["vxlan", "gre"] as const).entries()) {
      for (const [i, h] of hosts.entries()) {
        const vm = await h.addVm(`${n}${i}`, `192.168.80.${11 + 10 * j + i}/24`);
        vms[n].push(vm);
        nics.push(await el.plug(net[n].id, el.plugBody(h, vm), tenant.token));
      }
    }
    for (const n of ["vxlan", "gre"] as const) net[n] = await getNetwork(net[n].id);
  }, 180_000);

  afterAll(async () => {
    await el?.close();
  }, 120_000);

  describe("VXLAN and GRE networks side by side in the emulated lab", () => {
    it("implements each on its own key, builds tunnels of its type, and gives NICs its MTU", async () => {
      expect(net.vxlan).toMatchObject({ encapsulation: "vxlan", state: "Implemented" });
      expect(net.vxlan.vni).toBeGreaterThan(0);
      expect(net.vxlan.greKey).toBeUndefined();
      expect(net.vxlan.broadcastUri).toBe(`vxlan://${net.vxlan.vni}`);
      expect(net.gre).toMatchObject({ encapsulation: "gre", state: "Implemented" });
      expect(net.gre.vni).toBeUndefined();

      const mtus = Object.fromEntries(nics.map((n) => [n.networkId, n.mtu]));
      expect(mtus).toEqual({ [net.vxlan.id]: 1450, [net.gre.id]: 1458 });

      const key = { vxlan: String(net.vxlan.vni), gre: String(net.gre.greKey) };
      for (const n of ["vxlan", "gre"] as const) {
        const rows = (await el.http("GET", `/v1/networks/${net[n].id}/tunnels`, undefined, tenant.token)).json<{
          tunnels: Tunnel[];
        }>().tunnels;
        expect(rows).toHaveLength(2);
        expect(rows.every((t) => t.state === "Established" && t.encapsulation === n && String(t.key) === key[n])).toBe(
          true,
        );
        for (const [i, h] of hosts.entries()) {
          const peer = hosts[1 - i] as AnyLabHost;
          const { tunnels } = await ovsView(h, net[n].id);
          expect(tunnels, `${h.name} ${n}`).toEqual([
            expect.objectContaining({ type: n, remoteIp: peer.address, key: key[n], protected: true }),
          ]);
          expect(tunnels[0]?.port.startsWith(n === "vxlan" ? "vxl-" : "gre-")).toBe(true);
          // BFD runs on the VXLAN tunnels as on the GRE ones.
          expect(await h.vsctl("get", "Interface", tunnels[0]?.port as string, "bfd:enable")).toContain("true");
        }
      }
    });

    it("lets each network's VMs reach each other and none of the other network's", async () => {
      const [v0, v1] = vms.vxlan as [LabVm, LabVm];
      const [g0, g1] = vms.gre as [LabVm, LabVm];
      expect(await v0.ping(v1.ip, 2)).toBe(true);
      expect(await g0.ping(g1.ip, 2)).toBe(true);
      // Same subnet, other segment: neither across hosts nor on the same host.
      const across = await Promise.all([v0.ping(g1.ip, 1), g0.ping(v1.ip, 1), v0.ping(g0.ip, 1)]);
      expect(across).toEqual([false, false, false]);
    });

    it("carries the VXLAN network as UDP 4789 with its VNI and the GRE network as GRE with its key", async () => {
      const [v0, v1] = vms.vxlan as [LabVm, LabVm];
      const [g0, g1] = vms.gre as [LabVm, LabVm];
      const seen = await captureTunnels(el.lab, hosts[0] as AnyLabHost, 3, () =>
        Promise.all([v0.ping(v1.ip, 3), g0.ping(g1.ip, 3)]),
      );
      const vxlan = `vxlan:${net.vxlan.vni}`;
      const gre = `gre:${net.gre.greKey}`;
      // Echo requests out and replies in: 6 each way at least, on the one tunnel of each network.
      expect(seen[vxlan]?.icmp, JSON.stringify(seen)).toBeGreaterThanOrEqual(6);
      expect(seen[gre]?.icmp, JSON.stringify(seen)).toBeGreaterThanOrEqual(6);
      // Nothing else crossed: no GRE with the VNI, no VXLAN with the GRE key, no other key.
      expect(Object.keys(seen).sort()).toEqual([gre, vxlan].sort());
    });
  });
});
