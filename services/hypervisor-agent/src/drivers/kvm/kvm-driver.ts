import type {
  ApplyTunnels,
  DestroyBridge,
  GetOvsState,
  ListVms,
  PlugVif,
  RequestOf,
  ResponseOf,
  SetupBridge,
  TunnelInterface,
  UnplugVif,
} from "@sdn/contracts";
import type { BfdTimers, TunnelBfdReading } from "@sdn/ovsdb";
import { createHash } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIPv4 } from "node:net";
import { posix } from "node:path";
import { ProgramDriver, type HostDriver } from "../driver.js";
import { HostFailure, HostProgramError } from "../errors.js";
import { HOST_PROGRAMS_VERSION, KVM_FILES, KVM_SCRIPT, type HostFacts } from "../host-programs.js";
import { checkProgramAnswer } from "../program-answers.js";
import { deployPrograms } from "../ssh/deploy-programs.js";
import { SshConnection, type SshOptions } from "../ssh/ssh-connection.js";
import type { DriftListener } from "../ovsdb/drift-watch.js";
import { tunnelOf } from "../tunnel-spec.js";
import { HostOvsdb, type SouthboundLog } from "../ovsdb/host-ovsdb.js";
import { OvsdbSouthbound, type SouthboundStatus } from "../ovsdb/southbound.js";
import { VswitchdWatch } from "./vswitchd-watch.js";

/** Attempts at restoring flows once ovs-vswitchd answers again (its ports may still be coming up). */
const RESTORE_ATTEMPTS = 4;
const RESTORE_RETRY_MS = 250;

export interface KvmDriverOptions {
  ssh: SshOptions;
  /** Where the host programs live on the host (deployed there over SFTP). */
  programDir: string;
  tunnelNetworkLabel?: string;
  commandTimeoutMs: number;
  /** Deploy the programs on identify even when the host already runs this version. */
  forceDeploy?: boolean;
  /** Drive OVS over OVSDB (the host's db.sock through the SSH connection); else the program only. */
  ovsdb?: boolean;
  /** Where the driver says it falls back to the program. */
  log?: SouthboundLog;
  /** Told (debounced) when someone else changes or deletes what the controller owns on the host. */
  onDrift?: DriftListener;
  /** BFD timers of every tunnel; default BFD_DEFAULTS. */
  bfd?: BfdTimers;
}

/** A network's bridge on KVM hosts: stable, derived from the network id, 15 characters. */
export const kvmBridgeName = (networkId: string): string =>
  `sdn${createHash("sha1").update(networkId).digest("hex").slice(0, 12)}`;

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Drives a KVM host over SSH: the shared host programs run as `sdn-ovs-kvm <fn>` with JSON on stdin. */
export class KvmDriver extends ProgramDriver implements HostDriver {
  readonly ssh: SshConnection;
  /** The host's OVSDB once identify reached it, drift reports, the fallback to the program. */
  private readonly sb: OvsdbSouthbound;
  /** Sees ovs-vswitchd come back (its flows lost) while OVSDB is reached. */
  private watch: VswitchdWatch | undefined;

  constructor(private readonly opts: KvmDriverOptions) {
    super();
    this.ssh = new SshConnection(opts.ssh);
    this.sb = new OvsdbSouthbound(opts.ssh.host, opts.log, opts.onDrift);
    if (opts.bfd !== undefined) this.bfd = opts.bfd;
  }

  protected async discover(): Promise<HostFacts> {
    let version = this.opts.forceDeploy === true ? undefined : await this.ping().catch(() => undefined);
    if (version !== HOST_PROGRAMS_VERSION) {
      await deployPrograms(this.ssh, this.opts.programDir, KVM_FILES, KVM_SCRIPT, this.opts.commandTimeoutMs);
      version = await this.ping();
    }
    if (version !== HOST_PROGRAMS_VERSION) {
      throw new HostFailure(
        "PROGRAMS_OUTDATED",
        `${this.opts.ssh.host} runs host programs ${version}, not ${HOST_PROGRAMS_VERSION}`,
      );
    }
    const info = await this.hostInfo<{ ovsVersion: string; os: string; osVersion: string; ovsdbSocket?: string }>();
    if (this.opts.ovsdb === true && info.ovsdbSocket !== undefined) await this.openOvsdb(info.ovsdbSocket);
    const tunnelInterface = await this.fetchInterface(this.opts.tunnelNetworkLabel).catch((err: unknown) => {
      if (err instanceof HostProgramError) throw new HostFailure("TUNNEL_INTERFACE_NOT_FOUND", err.message);
      throw err;
    });
    return {
      platform: { name: info.os, version: info.osVersion, ovsVersion: info.ovsVersion },
      programsVersion: version,
      tunnelInterface,
      ...(this.ssh.seenFingerprint === undefined ? {} : { hostKeyFingerprint: this.ssh.seenFingerprint }),
    };
  }

  /** The host's OVSDB, once identify reached it; undefined: the host program does the work. */
  get ovsdb(): HostOvsdb | undefined {
    return this.sb.ovsdb;
  }

  southboundStatus(): SouthboundStatus {
    return this.sb.status();
  }

  private async openOvsdb(socketPath: string): Promise<void> {
    this.watch?.close();
    this.watch = undefined;
    try {
      const ovsdb = await HostOvsdb.open(
        { kind: "stream", open: () => this.ssh.openUnixStream(socketPath) },
        this.opts.commandTimeoutMs,
      );
      const watch = new VswitchdWatch({
        open: (path) => this.ssh.openUnixStream(path),
        rundir: posix.dirname(socketPath),
        bridges: () => ovsdb.vswitch.bridges().flatMap((b) => (b.managed ? [b.name] : [])),
        onContact: () => void this.restoreFlowsOnContact(),
      });
      // The first managed bridge may just have been set up.
      ovsdb.onChange(() => watch.poke());
      this.sb.attach(ovsdb, { socketPath });
      this.watch = watch;
      watch.poke();
    } catch (err) {
      this.sb.refused(
        "OVSDB_UNREACHABLE",
        (err as Error).message,
        "OVSDB unavailable through SSH; the host program drives Open vSwitch",
        { socketPath },
      );
    }
  }

  /**
   * Runs a change over OVSDB when the host's database is reachable, else through the host
   * program; both apply the same semantics and answer alike. Losing OVSDB mid-way falls
   * back too: every command is a whole desired state, so re-applying it is safe.
   */
  private southbound<T>(what: string, viaOvsdb: (o: HostOvsdb) => Promise<T>, viaProgram: () => Promise<T>) {
    return this.sb.own(() => this.either(what, viaOvsdb, viaProgram));
  }

  /** A command through OVSDB or the program, once identified (reads come here directly). */
  private async either<T>(what: string, viaOvsdb: (o: HostOvsdb) => Promise<T>, viaProgram: () => Promise<T>) {
    await this.identify().catch(() => undefined);
    return this.sb.either(what, viaOvsdb, viaProgram);
  }

  /**
   * Puts back the port-security flows ovs-vswitchd lost: run each time the watch reaches
   * ovs-vswitchd (first contact too, as it may have restarted while no one watched). The
   * new ovs-vswitchd may still be adding the bridge's ports, which makes the flows'
   * `in_port` unknown for a moment: retried briefly, then left to the periodic check.
   */
  private async restoreFlowsOnContact(): Promise<void> {
    const host = this.opts.ssh.host;
    const watch = this.watch;
    // Stops once the driver closed (or reopened OVSDB): a late run would reopen SSH.
    for (let attempt = 1; this.watch === watch; attempt++) {
      try {
        const r = await this.restoreFlows();
        if (r.restored.length > 0) {
          this.opts.log?.info({ host, bridges: r.restored }, "OpenFlow flows restored: ovs-vswitchd had lost them");
        }
        return;
      } catch (err) {
        if (attempt >= RESTORE_ATTEMPTS) {
          this.opts.log?.warn({ host, reason: (err as Error).message }, "OpenFlow flows not restored");
          return;
        }
        await new Promise((r) => setTimeout(r, RESTORE_RETRY_MS * attempt));
      }
    }
  }

  override async applyTunnels(
    req: RequestOf<typeof ApplyTunnels>,
    psk?: string,
  ): Promise<ResponseOf<typeof ApplyTunnels>> {
    // OVSDB cannot tell whether ovs-monitor-ipsec runs: the host program checks first.
    if (psk !== undefined) await this.run("ipsec_check", { networkId: req.networkId });
    return this.southbound(
      "ApplyTunnels",
      (o) =>
        o.applyTunnels(
          req.networkId,
          { ...tunnelOf(req), ...(psk === undefined ? {} : { psk }) },
          req.remotes,
          this.bfd,
        ),
      () => super.applyTunnels(req, psk),
    );
  }

  override plugVif(req: RequestOf<typeof PlugVif>): Promise<ResponseOf<typeof PlugVif>> {
    return this.sb.own(() => super.plugVif(req));
  }

  override unplugVif(req: RequestOf<typeof UnplugVif>): Promise<ResponseOf<typeof UnplugVif>> {
    return this.sb.own(() => super.unplugVif(req));
  }

  override ovsState(req: RequestOf<typeof GetOvsState>): Promise<ResponseOf<typeof GetOvsState>> {
    return this.either(
      "GetOvsState",
      (o) => Promise.resolve(o.state(req.networkId)),
      () => super.ovsState(req),
    );
  }

  override tunnelHealth(): Promise<TunnelBfdReading[]> {
    return this.southbound(
      "tunnel health",
      (o) => o.vswitch.tunnelHealth(),
      () => super.tunnelHealth(),
    );
  }

  async fetchInterface(label?: string): Promise<TunnelInterface> {
    const args = label !== undefined ? { label } : { address: await this.hostIp() };
    return this.run("fetch_interface", args);
  }

  private async hostIp(): Promise<string> {
    const host = this.opts.ssh.host;
    return isIPv4(host) ? host : (await lookup(host, { family: 4 })).address;
  }

  setupBridge(req: RequestOf<typeof SetupBridge>): Promise<ResponseOf<typeof SetupBridge>> {
    const bridge = kvmBridgeName(req.networkId);
    return this.southbound(
      "SetupBridge",
      (o) => o.vswitch.setupBridge(bridge, req.networkId),
      () => this.run("setup_bridge", { bridge, networkId: req.networkId }),
    );
  }

  destroyBridge(req: RequestOf<typeof DestroyBridge>): Promise<ResponseOf<typeof DestroyBridge>> {
    return this.southbound(
      "DestroyBridge",
      (o) => o.vswitch.destroyBridge(req.networkId),
      () => this.run("destroy_bridge", req),
    );
  }

  listVms(): Promise<ResponseOf<typeof ListVms>> {
    return this.run("list_vms", {});
  }

  async close(): Promise<void> {
    this.forgetFacts();
    this.watch?.close();
    this.watch = undefined;
    this.sb.close();
    this.ssh.close();
  }

  protected async run<T>(fn: string, args: object): Promise<T> {
    const r = await this.ssh.exec(
      `${quote(`${this.opts.programDir}/${KVM_SCRIPT}`)} ${fn}`,
      JSON.stringify(args),
      this.opts.commandTimeoutMs,
    );
    if (r.code === 126 || r.code === 127) {
      throw new HostProgramError("PROGRAMS_MISSING", `${KVM_SCRIPT} is not installed in ${this.opts.programDir}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.stdout);
    } catch {
      const detail = r.stderr.trim().split("\n").pop() ?? "";
      throw new HostProgramError(
        "BAD_OUTPUT",
        `${KVM_SCRIPT} ${fn} exited with ${r.code ?? r.signal} and no answer: ${detail}`,
      );
    }
    const answer = checkProgramAnswer<T>(KVM_SCRIPT, fn, parsed);
    // The exit status and the answer must agree; either alone is not trusted.
    if (answer.ok && r.code === 0) return answer.result;
    if (!answer.ok && r.code !== 0) throw new HostProgramError(answer.error.code, answer.error.message);
    throw new HostProgramError(
      "BAD_OUTPUT",
      `${KVM_SCRIPT} ${fn} answered ok=${String(answer.ok)} with exit status ${r.code}`,
    );
  }
}
