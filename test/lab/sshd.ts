import { waitFor } from "@sdn/testkit";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { exec, execQuiet, inNetns } from "./exec.js";
import { HOST_PATH, type LabHost } from "./host.js";

export interface LabSshdOptions {
  /** The lab client's public key, authorized for root. */
  clientPublicKeyFile: string;
  /** Folders of the host shown at paths of this machine ([host folder, path]), to sshd only. */
  binds: readonly (readonly [string, string])[];
  /** root's password (a XenServer dom0 logs in with it); without it, keys only. */
  rootPassword?: string;
  /** More environment for the sessions (besides OVS_RUNDIR and PATH). */
  env?: Readonly<Record<string, string>>;
}

/**
 * The sshd of a lab host, on the host's address port 22 with a host key of its own. It runs
 * in a mount namespace of its own where `binds` put the host's folders in place (its
 * program or plugin directory), root's shell start-up files are those of a fresh host
 * (this machine's would slow every command down) and, with a password, /etc/shadow holds
 * that password for root; its sessions get the host's OVS_RUNDIR. A login sees this host only.
 */
export class LabSshd {
  readonly port = 22;
  /** As `ssh-keygen -l -E sha256` prints it. */
  hostKeyFingerprint = "";
  private readonly dir: string;
  private options: LabSshdOptions | undefined;

  constructor(private readonly host: LabHost) {
    this.dir = join(host.dir, "ssh");
  }

  /** Starts sshd; after `stop()`, again with the same host key (and options, if none are given). */
  async start(options?: LabSshdOptions): Promise<void> {
    const opts = options ?? this.options;
    if (opts === undefined) throw new Error(`sshd of ${this.host.name} was never started`);
    this.options = opts;
    const dir = this.dir;
    mkdirSync(dir, { recursive: true });
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const hostKey = join(dir, "host_key");
    if (!existsSync(hostKey)) {
      await exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `lab-${this.host.name}`, "-f", hostKey]);
    }
    writeFileSync(join(dir, "authorized_keys"), readFileSync(opts.clientPublicKeyFile), { mode: 0o600 });
    const password = opts.rootPassword !== undefined;
    const config = join(dir, "sshd_config");
    writeFileSync(
      config,
      [
        `ListenAddress ${this.host.address}`,
        `Port ${this.port}`,
        `HostKey ${hostKey}`,
        `PidFile ${this.pidFile}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PermitRootLogin ${password ? "yes" : "prohibit-password"}`,
        `PasswordAuthentication ${password ? "yes" : "no"}`,
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "MaxSessions 10",
        `SetEnv ${Object.entries({ ...opts.env, OVS_RUNDIR: this.host.rundir, PATH: HOST_PATH })
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`,
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    const fp = await exec(["ssh-keygen", "-l", "-E", "sha256", "-f", `${hostKey}.pub`]);
    this.hostKeyFingerprint = fp.split(" ")[1] as string;
    const bashrc = join(dir, "bashrc");
    writeFileSync(bashrc, "");
    const mounts = opts.binds.map(([from, to]) => {
      mkdirSync(to, { recursive: true });
      return `mount --bind '${from}' '${to}'`;
    });
    if (opts.rootPassword !== undefined) {
      // sshd without PAM checks passwords against /etc/shadow: this host's has root's.
      const hash = (await exec(["openssl", "passwd", "-6", "-stdin"], opts.rootPassword)).trim();
      const shadow = join(dir, "shadow");
      const lines = readFileSync("/etc/shadow", "utf8").split("\n");
      writeFileSync(shadow, lines.map((l) => l.replace(/^root:[^:]*:/, `root:${hash}:`)).join("\n"), { mode: 0o600 });
      mounts.push(`mount --bind '${shadow}' /etc/shadow`);
    }
    const script = [
      ...mounts,
      `{ [ ! -e /root/.bashrc ] || mount --bind '${bashrc}' /root/.bashrc; }`,
      `exec /usr/sbin/sshd -f '${config}' -E '${join(dir, "sshd.log")}'`,
    ].join(" && ");
    await exec(inNetns(this.host.ns, ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]));
    // sshd detaches before it listens: wait until it accepts connections.
    await waitFor(`sshd of ${this.host.name}`, () => this.accepts());
  }

  private accepts(): Promise<true | undefined> {
    return new Promise((resolve) => {
      const s = connect(this.port, this.host.address);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(undefined));
    });
  }

  /** Stops sshd (the host becomes unreachable over SSH). */
  async stop(): Promise<void> {
    if (!existsSync(this.pidFile)) return;
    await execQuiet(["kill", readFileSync(this.pidFile, "utf8").trim()]);
    for (let i = 0; i < 50 && existsSync(this.pidFile); i++) await new Promise((r) => setTimeout(r, 20));
  }

  private get pidFile(): string {
    return join(this.dir, "sshd.pid");
  }
}
