import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exec, inNetns } from "./exec.js";
import { HOST_PATH, LabHost, type HostPlacement } from "./host.js";

/** Where the agent deploys its KVM programs; each lab host sees its own folder there. */
export const KVM_PROGRAM_DIR = "/opt/sdn-agent";

/**
 * A KVM host: OVS plus an sshd on the host's address (key authentication only, its own
 * host key). sshd runs in a mount namespace of its own where KVM_PROGRAM_DIR is this host's
 * folder, and its sessions get this host's OVS_RUNDIR, so a login sees this host only.
 */
export class KvmLabHost extends LabHost {
  readonly username = "root";
  readonly sshPort = 22;
  hostKeyFingerprint = "";
  readonly programDir: string;

  constructor(
    name: string,
    placement: HostPlacement,
    readonly clientPrivateKey: string,
  ) {
    super(name, "kvm", placement);
    this.programDir = join(placement.dir, "programs");
  }

  async startSshd(clientPublicKeyFile: string): Promise<void> {
    const sshDir = join(this.dir, "ssh");
    mkdirSync(sshDir, { recursive: true });
    mkdirSync(this.programDir, { recursive: true });
    mkdirSync(KVM_PROGRAM_DIR, { recursive: true });
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const hostKey = join(sshDir, "host_key");
    await exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `lab-${this.name}`, "-f", hostKey]);
    writeFileSync(join(sshDir, "authorized_keys"), readFileSync(clientPublicKeyFile), { mode: 0o600 });
    const config = join(sshDir, "sshd_config");
    writeFileSync(
      config,
      [
        `ListenAddress ${this.address}`,
        `Port ${this.sshPort}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(sshDir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(sshDir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "MaxSessions 10",
        `SetEnv OVS_RUNDIR=${this.rundir} PATH=${HOST_PATH}`,
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    const fp = await exec(["ssh-keygen", "-l", "-E", "sha256", "-f", `${hostKey}.pub`]);
    this.hostKeyFingerprint = fp.split(" ")[1] as string;
    // A host of its own: its program folder, and root's shell start-up files of a fresh
    // host instead of this machine's (which would slow every command down).
    const bashrc = join(sshDir, "bashrc");
    writeFileSync(bashrc, "");
    const script = [
      `mount --bind '${this.programDir}' '${KVM_PROGRAM_DIR}'`,
      `{ [ ! -e /root/.bashrc ] || mount --bind '${bashrc}' /root/.bashrc; }`,
      `exec /usr/sbin/sshd -f '${config}' -E '${join(sshDir, "sshd.log")}'`,
    ].join(" && ");
    await exec(inNetns(this.ns, ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]));
  }
}
