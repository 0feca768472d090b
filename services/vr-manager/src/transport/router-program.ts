import {
  ROUTER_PROGRAM_FILES,
  ROUTER_PROGRAM_NAME,
  type ConnectionSync,
  type PushedRouterConfig,
} from "@sdn/contracts";
import { checkRouterConfig } from "./router-config-check.js";
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { RouterFailure } from "../errors.js";
import type { FollowedCommand, ProgramFile, RouterChannel, RunResult } from "./channel.js";

const source = (name: string): Buffer => readFileSync(new URL(`../../router/${name}`, import.meta.url));

/** The router program shipped with this service (services/vr-manager/router/sdn-router). */
export const ROUTER_PROGRAM: Buffer = source("sdn-router");

/**
 * The modules deployed beside it (guest services: DHCP, DNS, metadata). Its VERSION
 * covers them: a router that answers this version runs these files.
 */
const ROUTER_MODULES: readonly ProgramFile[] = Object.entries(ROUTER_PROGRAM_FILES)
  .filter(([name]) => name !== ROUTER_PROGRAM_NAME)
  .map(([name, mode]) => ({ name, data: source(name), mode: parseInt(mode, 8) }));

export const ROUTER_PROGRAM_VERSION: string = (() => {
  const m = /^VERSION = "([^"]+)"$/m.exec(ROUTER_PROGRAM.toString("utf8"));
  if (m === null) throw new Error("sdn-router declares no VERSION");
  return m[1] as string;
})();

/** The router program's answer to `apply`. */
export interface Applied {
  generation: number;
  hash: string;
  changed: boolean;
  summary: Record<string, number>;
  /** Tracked connections cut because the rules changed (absent on a no-op re-apply). */
  connectionsCut?: number;
  /** What went wrong after the rules were in force (cutting revoked connections); the apply stands. */
  warnings?: string[];
  /** A pair member's conntrackd (1.5.0). */
  connectionSync?: ConnectionSync;
}

/** A pair member's VRRP state as its router reports it. */
export interface VrrpReport {
  state: "MASTER" | "BACKUP" | "FAULT" | "UNKNOWN";
  running: boolean;
}

const VRRP_STATES = new Set(["MASTER", "BACKUP", "FAULT", "UNKNOWN"]);

/** A line of `sdn-router vrrp-watch`; undefined for anything else (an older program's usage answer). */
const vrrpReportOf = (line: string): VrrpReport | undefined => {
  try {
    const r = JSON.parse(line) as Partial<VrrpReport>;
    return VRRP_STATES.has(r.state as string) && typeof r.running === "boolean" ? (r as VrrpReport) : undefined;
  } catch {
    return undefined;
  }
};

/** The router program's answer to `state`. */
export interface RouterProgramState {
  version: string;
  generation: number;
  hash: string | null;
  summary: Record<string, number>;
  haproxyRunning: boolean;
  /** False when the applied configuration serves guests and dnsmasq or the metadata server is down (1.2.0). */
  guestServicesRunning?: boolean;
  /** The last apply's warnings (absent before version 1.1.0). */
  warnings?: string[];
  /** A pair member's VRRP state, as keepalived's notify script recorded it (1.3.0). */
  vrrp?: VrrpReport;
  /** A pair member's connection tracking sync (conntrackd) (1.5.0). */
  connectionSync?: ConnectionSync;
}

type ProgramAnswer<T> =
  { ok: true; result: T } | { ok: false; error: { code: string; message: string }; generation?: number };

/** A router refused a configuration; `runningGeneration` is what it still runs. */
export class ConfigurationRefused extends RouterFailure {
  constructor(
    routerCode: string,
    message: string,
    readonly runningGeneration: number | undefined,
  ) {
    super("ROUTER_REFUSED", message, routerCode);
  }
}

/**
 * Runs the router program over a channel: deploys it when it is missing or of another
 * version (then checks again), applies whole configurations and reads the router's state.
 */
export class RouterProgram {
  constructor(private readonly dir: string) {}

  get path(): string {
    return posix.join(this.dir, "sdn-router");
  }

  /** Makes sure the router runs this program's version (and its modules); answers the version. */
  async ensureDeployed(channel: RouterChannel): Promise<string> {
    const found = await this.version(channel);
    if (found === ROUTER_PROGRAM_VERSION) return found;
    const mk = await channel.run(["mkdir", "-p", this.dir], "");
    if (mk.code !== 0)
      throw new RouterFailure("PROGRAM_FAILED", `cannot create ${this.dir} on the router: ${mk.stderr.trim()}`);
    // The program last: until it is written, the router does not answer the new version.
    await channel.writeFiles(this.dir, ROUTER_MODULES);
    await channel.writeFile(this.path, ROUTER_PROGRAM, 0o755);
    const now = await this.version(channel);
    if (now !== ROUTER_PROGRAM_VERSION) {
      throw new RouterFailure(
        "PROGRAM_FAILED",
        `the router runs sdn-router ${now ?? "(not at all)"} after deploying ${ROUTER_PROGRAM_VERSION}: is python3 installed?`,
      );
    }
    return now;
  }

  private async version(channel: RouterChannel): Promise<string | undefined> {
    const r = await channel.run([this.path, "version"], "");
    if (r.code !== 0) return undefined;
    try {
      return (JSON.parse(r.stdout) as ProgramAnswer<{ version: string }> & { ok: true }).result.version;
    } catch {
      return undefined;
    }
  }

  async apply(channel: RouterChannel, config: PushedRouterConfig): Promise<Applied> {
    checkRouterConfig(config);
    const answer = this.decode<Applied>(await channel.run([this.path, "apply"], JSON.stringify(config)), "apply");
    if (!answer.ok) throw new ConfigurationRefused(answer.error.code, answer.error.message, answer.generation);
    return answer.result;
  }

  async state(channel: RouterChannel): Promise<RouterProgramState> {
    const answer = this.decode<RouterProgramState>(await channel.run([this.path, "state"], ""), "state");
    if (!answer.ok)
      throw new RouterFailure("PROGRAM_FAILED", `sdn-router state failed: ${answer.error.message}`, answer.error.code);
    return answer.result;
  }

  /**
   * Follows a pair member's VRRP state (`sdn-router vrrp-watch`, 1.4.0): `onReport` gets it
   * at once, on every change and every heartbeat (half a second). Undefined when the
   * channel cannot follow (the host relay).
   */
  followVrrp(channel: RouterChannel, onReport: (r: VrrpReport) => void): FollowedCommand | undefined {
    return channel.follow?.([this.path, "vrrp-watch"], (line) => {
      const report = vrrpReportOf(line);
      if (report !== undefined) onReport(report);
    });
  }

  /** The program's JSON answer; its exit status must agree with it. */
  private decode<T>(r: RunResult, what: string): ProgramAnswer<T> {
    let answer: ProgramAnswer<T>;
    try {
      answer = JSON.parse(r.stdout) as ProgramAnswer<T>;
    } catch {
      throw new RouterFailure(
        "PROGRAM_FAILED",
        `sdn-router ${what} printed no answer (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-500)}`,
      );
    }
    if (answer.ok !== (r.code === 0)) {
      throw new RouterFailure(
        "PROGRAM_FAILED",
        `sdn-router ${what} answered ok=${answer.ok} with exit status ${r.code}`,
      );
    }
    return answer;
  }
}
