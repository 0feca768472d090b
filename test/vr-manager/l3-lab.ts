import { CreateNetwork, ImplementNetwork, ListNics, type Network, type PublicIp } from "@sdn/contracts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { exec, Lab, type GuestPort, type KvmLabHost, type LabVm, type XapiLabHost } from "../lab/index.js";
import { LabInternet, LabRouter, serveProbe } from "./router-lab.js";
import { OUTSIDE_IP, RouterStack, type Tenant } from "./router-stack.js";

export { OUTSIDE_IP } from "./router-stack.js";
/** A second address of the internet, outside the /25 that firewall rules allow. */
export const STRANGER_IP = "203.0.113.200";

/**
 * The L3 lab of the l3-*.lab.test.ts suites: the L3 services with real traffic. Two KVM
 * hosts and a XenServer host; every NIC, the routers' included, is plugged by the
 * ovs-element (the GRE mesh follows). Router rt1 (direct SSH on the lab's management
 * network) runs on kvm1 and can serve networks A and B; router rt2 can serve network C on
 * the XenServer host and is reachable only from that host (link-local control link: the
 * XAPI relay). Both routers' public interfaces sit on the "outside" namespace's bridge
 * (203.0.113.0/24), which stands for the internet: its server at 203.0.113.1 tells every
 * client its source address (ports 80 and 8088), as every VM's does on port 80. The
 * routers are built and run sshd; registering them is the suites' business.
 */
export class L3Lab {
  readonly net = {} as Record<"A" | "B" | "C", Network>;
  /** The first address a network acquires is its source NAT address: A1, B1 and C1. */
  readonly pip = {} as Record<"A1" | "A2" | "B1" | "C1", PublicIp>;
  readonly vm = {} as Record<"A1" | "A2" | "B1" | "C1", LabVm>;
  outsider!: Tenant;
  /** The internet's namespace. */
  outside = "";
  rt1!: LabRouter;
  rt2!: LabRouter;
  /** rt2's VM and its port on the XenServer host, as XAPI knows them. */
  rt2Port!: GuestPort;

  private constructor(
    readonly lab: Lab,
    readonly kvm1: KvmLabHost,
    readonly kvm2: KvmLabHost,
    readonly xen: XapiLabHost,
    readonly api: RouterStack,
  ) {}

  static async start(): Promise<L3Lab> {
    const lab = await Lab.create();
    let api: RouterStack | undefined;
    try {
      const [kvm1, kvm2, xen] = [
        await lab.addKvmHost("kvm1"),
        await lab.addKvmHost("kvm2"),
        await lab.addXapiHost("xen", { flavour: "xenserver" }),
      ];
      // The key the agent and the vr-manager reach rt2 with, through the XenServer host.
      const relayKey = join(lab.dir, "id_sdn_router");
      await exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xen-relay", "-f", relayKey]);
      api = await RouterStack.start(lab, [kvm1, kvm2, xen], {
        agent: { SDN_AGENT_RELAY_KEY_FILE: relayKey },
        vrManager: { SDN_VR_RELAY_KEY_FILE: relayKey, SDN_VR_CHECK_INTERVAL_MS: "700" },
      });
      const l3 = new L3Lab(lab, kvm1, kvm2, xen, api);
      await l3.build(relayKey);
      return l3;
    } catch (err) {
      await api?.close();
      await lab.dispose();
      throw err;
    }
  }

  private async build(relayKey: string): Promise<void> {
    const { api } = this;
    this.outsider = await api.gw.tenant("other");
    for (const [k, cidr] of [
      ["A", "10.1.0.0/24"],
      ["B", "10.2.0.0/24"],
      ["C", "10.3.0.0/24"],
    ] as const) {
      const created = await api.send(CreateNetwork, { name: `net-${k}`, cidr }, "tenant");
      this.net[k] = await api.send(ImplementNetwork, { networkId: created.id }, "tenant");
    }
    for (const [k, n] of [
      ["A1", "A"],
      ["A2", "A"],
      ["B1", "B"],
      ["C1", "C"],
    ] as const) {
      this.pip[k] = await api.ok<PublicIp>("POST", "/v1/public-ips", { networkId: this.net[n].id });
    }

    // Guest side: VMs (the element builds bridges and tunnels as NICs come).
    this.vm.A1 = await api.plugVm(this.kvm1, "a1", this.net.A, "10.1.0.11");
    this.vm.A2 = await api.plugVm(this.kvm2, "a2", this.net.A, "10.1.0.12");
    this.vm.B1 = await api.plugVm(this.kvm2, "b1", this.net.B, "10.2.0.11");
    this.vm.C1 = await api.plugVm(this.xen, "c1", this.net.C, "10.3.0.11");

    const internet = await LabInternet.create(this.lab, "out", [`${OUTSIDE_IP}/24`, `${STRANGER_IP}/24`]);
    this.outside = internet.ns;
    await serveProbe(this.outside, 80, "outside");
    await serveProbe(this.outside, 8088, "outside-8088");

    this.rt1 = await LabRouter.create(this.lab, "rt1");
    await this.rt1.controlOnUnderlay(this.lab, 200);
    await internet.plug(this.rt1, "p-rt1");
    await this.rt1.guestInterface(this.kvm1, "eth2", "vr1a");
    await this.rt1.guestInterface(this.kvm1, "eth3", "vr1b");
    await this.rt1.startSshd([await api.routerKey()]);
    this.rt2 = await LabRouter.create(this.lab, "rt2");
    await this.rt2.controlOnLinkLocal(this.xen, "169.254.0.2");
    await internet.plug(this.rt2, "p-rt2");
    this.rt2Port = await this.rt2.guestInterface(this.xen, "eth2", "vr2c");
    await this.rt2.startSshd([readFileSync(`${relayKey}.pub`, "utf8")]);

    for (const [name, v] of Object.entries(this.vm)) await serveProbe(v.ns, 80, `vm${name}`);
  }

  /** A registration of router `r` on kvm1 (direct SSH) for the given networks and NICs. */
  routerBody(
    r: LabRouter,
    networkIds: string[],
    nics: { networkId: string; interface: string; hostInterface: string }[],
  ) {
    return {
      name: r.name,
      hostId: this.api.hostIds["kvm1"] as string,
      vmId: `vm-${r.name}`,
      networkIds,
      nics,
      controlAddress: r.controlAddress,
      hostKeyFingerprint: r.hostKeyFingerprint,
      publicInterface: "eth1",
    };
  }

  /** rt1's registration: networks A (eth2) and B (eth3). */
  rt1Body() {
    return this.routerBody(
      this.rt1,
      [this.net.A.id, this.net.B.id],
      [
        { networkId: this.net.A.id, interface: "eth2", hostInterface: "vr1a" },
        { networkId: this.net.B.id, interface: "eth3", hostInterface: "vr1b" },
      ],
    );
  }

  /**
   * Network A's port forwards the suites lean on: "web", public 8080 → vmA1:80, and
   * "range", public 9000-9001 → vmA2:7000-7001 (one to one). Its answer: the forward's id
   * and how the router took it.
   */
  forward(which: "web" | "range") {
    const body =
      which === "web"
        ? { publicStartPort: 8080, privateIp: this.vm.A1.ip, privateStartPort: 80 }
        : {
            publicStartPort: 9000,
            publicEndPort: 9001,
            privateIp: this.vm.A2.ip,
            privateStartPort: 7000,
            privateEndPort: 7001,
          };
    return this.api.ok<{ id: string; apply: { status: string } }>(
      "POST",
      `/v1/networks/${this.net.A.id}/port-forwards`,
      {
        publicIpId: this.pip.A1.id,
        protocol: "tcp",
        ...body,
      },
    );
  }

  /** The firewall rule that opens A1's ports 8000-9100 (the forwards') to 203.0.113.0/25, not to STRANGER_IP. */
  openForwards() {
    return this.api.ok("POST", `/v1/networks/${this.net.A.id}/firewall-rules`, {
      publicIpId: this.pip.A1.id,
      protocol: "tcp",
      startPort: 8000,
      endPort: 9100,
      sourceCidrs: ["203.0.113.0/25"],
    });
  }

  /** The ovs-element's router NICs on a network. */
  async routerNics(network: Network) {
    return (await this.api.send(ListNics, { networkId: network.id })).nics.filter((n) => n.role === "router");
  }

  async dispose(): Promise<void> {
    await this.api.close();
    await this.lab.dispose();
  }
}
