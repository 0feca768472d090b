import type { NatsConnection } from "@nats-io/transport-node";
import { request } from "@sdn/bus";
import { agentSubject, hostErrorOf, RelayToRouter, ROUTER_DEPLOY_SCRIPT, type HostErrorReason } from "@sdn/contracts";
import { posix } from "node:path";
import { gzipSync } from "node:zlib";
import { RouterFailure } from "../errors.js";
import type { ProgramFile, RouterChannel, RunResult } from "./channel.js";

/** Files written through the relay at once (each its own host plugin call and router login). */
const RELAY_WRITES = 4;

export interface RelayChannelOptions {
  nc: NatsConnection;
  hostId: string;
  address: string;
  port: number;
  username: string;
  hostKeyFingerprint: string;
  /** Path on the host of the key routers accept from it; the plugin's default when absent. */
  identityFile?: string;
  commandTimeoutMs: number;
}

/** Host errors of the relay that mean the router (not the request) is the problem. */
const UNREACHABLE = new Set<HostErrorReason | undefined>(["ROUTER_UNREACHABLE", "ROUTER_SSH_FAILED", "ROUTER_TIMEOUT"]);

/**
 * Reaches a router through its host's agent (RelayToRouter): the host's XAPI plugin opens
 * SSH to the router's link-local address with the host's relay key and the router's host
 * key pinned. Files travel as the stdin of a shell that writes them aside and renames.
 */
export class RelayChannel implements RouterChannel {
  constructor(private readonly opts: RelayChannelOptions) {}

  async run(argv: readonly string[], stdin: string): Promise<RunResult> {
    const o = this.opts;
    const where = `router ${o.address} via host ${o.hostId}`;
    let answer;
    try {
      answer = await request(
        o.nc,
        RelayToRouter,
        agentSubject(o.hostId, RelayToRouter.name),
        {
          address: o.address,
          port: o.port,
          username: o.username,
          hostKeyFingerprint: o.hostKeyFingerprint,
          ...(o.identityFile === undefined ? {} : { identityFile: o.identityFile }),
          argv: [...argv],
          ...(stdin === "" ? {} : { stdinGzipBase64: gzipSync(stdin).toString("base64") }),
          timeoutMs: o.commandTimeoutMs,
        },
        { role: "admin", timeoutMs: o.commandTimeoutMs + 15_000 },
      );
    } catch (err) {
      throw new RouterFailure("UNREACHABLE", `no agent relays to ${where}: ${(err as Error).message}`);
    }
    if (answer.ok) return { code: answer.data.exitCode, stdout: answer.data.stdout, stderr: answer.data.stderr };
    const hostError = hostErrorOf(answer.error.details);
    if (hostError === "ROUTER_HOST_KEY_MISMATCH") throw new RouterFailure("HOST_KEY_MISMATCH", answer.error.message);
    if (UNREACHABLE.has(hostError) || answer.error.code === "UNAVAILABLE") {
      throw new RouterFailure("UNREACHABLE", `${where}: ${answer.error.message}`);
    }
    throw new RouterFailure("PROGRAM_FAILED", `the relay to ${where} failed: ${answer.error.message}`);
  }

  async writeFile(path: string, data: Buffer, mode: number): Promise<void> {
    const r = await this.run(["sh", "-c", ROUTER_DEPLOY_SCRIPT, "sh", path, mode.toString(8)], data.toString("utf8"));
    if (r.code !== 0) {
      throw new RouterFailure(
        "PROGRAM_FAILED",
        `cannot write ${path} on router ${this.opts.address}: ${r.stderr.trim()}`,
      );
    }
  }

  /**
   * Each file is a relay call of its own (a host plugin call and an SSH login to the router),
   * so RELAY_WRITES of them run at once: the program's modules land in a few round trips.
   */
  async writeFiles(dir: string, files: readonly ProgramFile[]): Promise<void> {
    const queue = [...files];
    const writer = async (): Promise<void> => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        await this.writeFile(posix.join(dir, f.name), f.data, f.mode);
      }
    };
    await Promise.all(Array.from({ length: Math.min(RELAY_WRITES, files.length) }, writer));
  }

  close(): void {}
}
