import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LabHost, type HostPlacement } from "./host.js";
import { LabSshd } from "./sshd.js";

/** Where the agent deploys its KVM programs; each lab host sees its own folder there. */
export const KVM_PROGRAM_DIR = "/opt/sdn-agent";

/**
 * A KVM host: OVS plus an sshd on the host's address (key authentication only, its own
 * host key) where KVM_PROGRAM_DIR is this host's folder. It has no libvirtd: it keeps
 * libvirt's record of its running guests, the domain status files libvirt writes to
 * /run/libvirt/qemu, in a folder of its own that its sessions find through
 * SDN_LIBVIRT_STATUS_DIR (what the host programs read to tell whose a device is).
 */
export class KvmLabHost extends LabHost {
  readonly username = "root";
  readonly sshd = new LabSshd(this);
  readonly programDir: string;
  readonly libvirtStatusDir: string;
  private readonly domains = new Map<string, { device: string; mac: string }[]>();

  constructor(
    name: string,
    placement: HostPlacement,
    readonly clientPrivateKey: string,
  ) {
    super(name, "kvm", placement);
    this.programDir = join(placement.dir, "programs");
    this.libvirtStatusDir = join(placement.dir, "libvirt-qemu");
    mkdirSync(this.libvirtStatusDir, { recursive: true });
  }

  get hostKeyFingerprint(): string {
    return this.sshd.hostKeyFingerprint;
  }

  /** The SSH options an agent's KvmDriver uses for this host (key auth, pinned host key). */
  sshOptions() {
    return {
      host: this.address,
      port: 22,
      username: this.username,
      privateKey: this.clientPrivateKey,
      hostKeyFingerprint: this.hostKeyFingerprint,
      trustOnFirstContact: false,
      connectTimeoutMs: 5_000,
      maxSessions: 4,
    };
  }

  async startSshd(clientPublicKeyFile: string): Promise<void> {
    mkdirSync(this.programDir, { recursive: true });
    await this.sshd.start({
      clientPublicKeyFile,
      binds: [[this.programDir, KVM_PROGRAM_DIR]],
      env: { SDN_LIBVIRT_STATUS_DIR: this.libvirtStatusDir },
    });
  }

  /** Writes the running domain's status file as libvirt does, with every interface recorded so far. */
  override recordInterface(vmName: string, device: string, mac: string): void {
    const interfaces = [...(this.domains.get(vmName) ?? []), { device, mac }];
    this.domains.set(vmName, interfaces);
    writeFileSync(
      join(this.libvirtStatusDir, `${vmName}.xml`),
      [
        "<domstatus state='running' reason='booted' pid='1'>",
        "  <domain type='kvm' id='1'>",
        `    <name>${vmName}</name>`,
        "    <devices>",
        ...interfaces.flatMap((i) => [
          "      <interface type='ethernet'>",
          `        <mac address='${i.mac}'/>`,
          `        <target dev='${i.device}' managed='no'/>`,
          "        <model type='virtio'/>",
          "      </interface>",
        ]),
        "    </devices>",
        "  </domain>",
        "</domstatus>",
        "",
      ].join("\n"),
    );
  }
}
