import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { exec, execQuiet, inNetns, LabCommandError, type ExecResult } from "./exec.js";
import { LabVm } from "./vm.js";

/** The PATH of a plain host: programs on lab hosts must not see this machine's extras. */
export const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export type LabHypervisor = "kvm" | "xenserver" | "xcp-ng";

/** A VM's port on a host and the VM's id as PlugNic takes it (XAPI: the VM's uuid). */
export interface GuestPort {
  vmId: string;
  device: string;
}

/** Where a host sits on the lab's underlay. */
export interface HostPlacement {
  ns: string;
  dir: string;
  address: string;
  prefixLength: number;
}

/**
 * A hypervisor host: a network namespace with its own ovsdb-server and ovs-vswitchd
 * (userspace datapath, OVS_RUNDIR of its own) and the underlay port `eth0` inside the OVS
 * bridge `br-phy`, which holds the host's address (where userspace GRE needs it).
 */
export class LabHost {
  readonly rundir: string;
  private vmCount = 0;

  constructor(
    readonly name: string,
    readonly hypervisor: LabHypervisor,
    readonly placement: HostPlacement,
  ) {
    this.rundir = join(placement.dir, "run");
  }

  get ns(): string {
    return this.placement.ns;
  }
  get dir(): string {
    return this.placement.dir;
  }
  /** The host's address on the underlay: management and tunnel endpoint. */
  get address(): string {
    return this.placement.address;
  }
  /** The interface that holds the address (the tunnel endpoint). */
  get tunnelDevice(): string {
    return "br-phy";
  }

  /** argv that runs `argv` in this host's namespace with its OVS_RUNDIR. */
  argv(argv: readonly string[]): string[] {
    return inNetns(this.ns, ["env", `OVS_RUNDIR=${this.rundir}`, `PATH=${HOST_PATH}`, ...argv]);
  }

  exec(argv: readonly string[], input?: string): Promise<ExecResult> {
    return execQuiet(this.argv(argv), input);
  }

  /** ovs-vsctl against this host's database; throws on failure. */
  vsctl(...args: string[]): Promise<string> {
    return exec(this.argv(["ovs-vsctl", "--timeout=10", ...args]));
  }

  /** Starts the host's Open vSwitch and puts its underlay port and address on br-phy. */
  async startOvs(): Promise<void> {
    mkdirSync(this.rundir, { recursive: true });
    const db = join(this.dir, "conf.db");
    await exec(["ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema"]);
    await this.startOvsDaemons();
    await this.vsctl("--no-wait", "init");
    await this.vsctl(
      "--",
      "add-br",
      "br-phy",
      "--",
      "set",
      "Bridge",
      "br-phy",
      "datapath_type=netdev",
      "--",
      "add-port",
      "br-phy",
      "eth0",
    );
    await exec(["ip", "-n", this.ns, "addr", "add", `${this.address}/${this.placement.prefixLength}`, "dev", "br-phy"]);
    await exec(["ip", "-n", this.ns, "link", "set", "br-phy", "up"]);
  }

  /** (Re)starts ovsdb-server and ovs-vswitchd on the existing database. */
  async startOvsDaemons(): Promise<void> {
    const db = join(this.dir, "conf.db");
    await exec(
      this.argv([
        "ovsdb-server",
        db,
        `--remote=punix:${join(this.rundir, "db.sock")}`,
        ...this.ovsdbServerOptions(),
        ...this.daemon("ovsdb-server"),
      ]),
    );
    await this.startVswitchd();
  }

  /** More ovsdb-server options of this kind of host. */
  protected ovsdbServerOptions(): string[] {
    return [];
  }

  private startVswitchd(): Promise<string> {
    return exec(this.argv(["ovs-vswitchd", `unix:${join(this.rundir, "db.sock")}`, ...this.daemon("ovs-vswitchd")]));
  }

  private daemon(name: string): string[] {
    return [
      `--pidfile=${join(this.rundir, `${name}.pid`)}`,
      `--unixctl=${join(this.rundir, `${name}.ctl`)}`,
      `--log-file=${join(this.dir, `${name}.log`)}`,
      "--detach",
      "--no-chdir",
    ];
  }

  /**
   * Restarts ovs-vswitchd alone, as a crash and its supervisor would: the database (bridges,
   * ports, tags) stays, every OpenFlow flow is gone. Resolves once it runs again.
   */
  async restartVswitchd(): Promise<void> {
    const pidfile = join(this.rundir, "ovs-vswitchd.pid");
    const pid = readFileSync(pidfile, "utf8").trim();
    // `exit` answers before the daemon is gone (or loses its answer as it goes: "connection
    // reset"), and a new one refuses to start while the old holds the pidfile: wait it out.
    const exited = await execQuiet(this.argv(["ovs-appctl", "-t", join(this.rundir, "ovs-vswitchd.ctl"), "exit"]));
    const gone = () => !existsSync(`/proc/${pid}`);
    for (let waited = 0; !gone() && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    if (!gone()) throw new LabCommandError(["ovs-appctl", "exit", `(pid ${pid} still running after 10 s)`], exited);
    await this.startVswitchd();
  }

  /** Stops this host's ovsdb-server (to make the host's OVS fail). */
  async stopOvsdb(): Promise<void> {
    await exec(this.argv(["ovs-appctl", "-t", join(this.rundir, "ovsdb-server.ctl"), "exit"]));
  }

  /** The device name the hypervisor gives a VM's port; Xen names it after the domain id. */
  protected vmDeviceName(index: number, domid?: string): string {
    return domid === undefined ? `vnet${index}` : `vif${domid}.0`;
  }

  /** Registers the VM with the host's toolstack, if it has one (XAPI). */
  protected async registerVm(_name: string, _mac: string): Promise<{ domid: string; uuid: string } | undefined> {
    return undefined;
  }

  /**
   * Records that `device` is an interface of VM `vmName`, as the hypervisor's own records
   * would (KVM: libvirt's domain status); what the host programs check a plug against.
   */
  recordInterface(_vmName: string, _device: string, _mac: string): void {}

  /**
   * A port of VM `vmName` as the host's toolstack names and records it: XAPI registers a VM
   * with one VIF (its port is vif<domid>.0, whatever `device` says); elsewhere the port is
   * `device`, recorded under the VM. Returns the VM's id for PlugNic (XAPI: its uuid).
   * Creates no link.
   */
  async guestPort(vmName: string, device: string, mac: string): Promise<GuestPort> {
    const registered = await this.registerVm(vmName, mac);
    if (registered !== undefined) return { vmId: registered.uuid, device: this.vmDeviceName(0, registered.domid) };
    this.recordInterface(vmName, device, mac);
    return { vmId: vmName, device };
  }

  /**
   * `count` bare VM ports (veth pairs, no VM namespace behind them) of VMs `<prefix><i>`,
   * known to the host's records like addVm's: for plugs where no traffic is needed.
   */
  async addGuestPorts(prefix: string, count: number): Promise<GuestPort[]> {
    const ports: GuestPort[] = [];
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const index = this.vmCount++;
      const port = await this.guestPort(`${prefix}${i}`, this.vmDeviceName(index), randomMac());
      ports.push(port);
      lines.push(`link add ${port.device} type veth peer name gp${index}`, `link set ${port.device} up`);
    }
    await exec(["ip", "-n", this.ns, "-batch", "-"], `${lines.join("\n")}\n`);
    return ports;
  }

  /**
   * Creates a VM namespace wired to this host: its eth0 (address `cidr`) is a veth whose
   * peer is the VM's port in the host namespace, not yet on any bridge (PlugVif does that).
   */
  async addVm(name: string, cidr: string, mac = randomMac()): Promise<LabVm> {
    const index = this.vmCount++;
    const { vmId, device } = await this.guestPort(name, this.vmDeviceName(index), mac);
    const ns = `${this.ns}-vm${index}`;
    await exec(["ip", "netns", "add", ns]);
    await exec(["ip", "-n", this.ns, "link", "add", device, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await exec(["ip", "-n", ns, "link", "set", "eth0", "address", mac]);
    await exec(["ip", "-n", ns, "addr", "add", cidr, "dev", "eth0"]);
    for (const [where, dev] of [
      [ns, "lo"],
      [ns, "eth0"],
      [this.ns, device],
    ] as const) {
      await exec(["ip", "-n", where, "link", "set", dev, "up"]);
    }
    // The userspace datapath reads frames raw: they must carry complete checksums.
    await exec(inNetns(ns, ["ethtool", "-K", "eth0", "tx", "off"]));
    return new LabVm(name, ns, device, mac, cidr, this.hypervisor === "kvm" ? undefined : vmId);
  }
}

export const randomMac = (): string =>
  ["02", ...Array.from(randomBytes(5), (b) => b.toString(16).padStart(2, "0"))].join(":");
