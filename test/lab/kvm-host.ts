import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { LabHost, type HostPlacement } from "./host.js";
import { LabSshd } from "./sshd.js";

/** Where the agent deploys its KVM programs; each lab host sees its own folder there. */
export const KVM_PROGRAM_DIR = "/opt/sdn-agent";

/**
 * A KVM host: OVS plus an sshd on the host's address (key authentication only, its own
 * host key) where KVM_PROGRAM_DIR is this host's folder.
 */
export class KvmLabHost extends LabHost {
  readonly username = "root";
  readonly sshd = new LabSshd(this);
  readonly programDir: string;

  constructor(
    name: string,
    placement: HostPlacement,
    readonly clientPrivateKey: string,
  ) {
    super(name, "kvm", placement);
    this.programDir = join(placement.dir, "programs");
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
    await this.sshd.start({ clientPublicKeyFile, binds: [[this.programDir, KVM_PROGRAM_DIR]] });
  }
}
