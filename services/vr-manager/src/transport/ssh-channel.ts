import { Semaphore } from "@sdn/bus";
import { createHash } from "node:crypto";
import ssh2, { type Client as SshClient } from "ssh2";
import { RouterFailure } from "../errors.js";
import { shellQuote, type RouterChannel, type RunResult } from "./channel.js";

const { Client } = ssh2;

/** OpenSSH's form of a host key fingerprint: "SHA256:" + unpadded base64 of the key's SHA-256. */
export const sshFingerprint = (key: Buffer): string =>
  `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;

export interface SshChannelOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** The router's pinned host key: any other key is refused. */
  hostKeyFingerprint: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/** Parallel channels on one connection: below sshd's default MaxSessions (10). */
const MAX_SESSIONS = 4;

/**
 * One SSH connection to a router's control address, opened on first use and reused;
 * parallel commands share it as channels. The host key must match the pinned fingerprint.
 */
export class SshChannel implements RouterChannel {
  private client: SshClient | undefined;
  private connecting: Promise<SshClient> | undefined;
  private readonly slots = new Semaphore(MAX_SESSIONS);

  constructor(private readonly opts: SshChannelOptions) {}

  private get where(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  private connect(): Promise<SshClient> {
    if (this.client !== undefined) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private open(): Promise<SshClient> {
    const o = this.opts;
    return new Promise((resolve, reject) => {
      const c = new Client();
      let seen: string | undefined;
      c.once("ready", () => {
        this.client = c;
        resolve(c);
      });
      c.on("error", (err: Error & { level?: string }) => {
        if (this.client === c) return; // a live connection failing: "close" follows
        if (seen !== undefined && seen !== o.hostKeyFingerprint) {
          reject(
            new RouterFailure(
              "HOST_KEY_MISMATCH",
              `router ${this.where} presents host key ${seen}, expected ${o.hostKeyFingerprint}`,
            ),
          );
        } else if (err.level === "client-authentication") {
          reject(
            new RouterFailure(
              "AUTHENTICATION_FAILED",
              `router ${this.where} refused the vr-manager's key for '${o.username}'`,
            ),
          );
        } else {
          reject(new RouterFailure("UNREACHABLE", `cannot reach router SSH at ${this.where}: ${err.message}`));
        }
      });
      c.on("close", () => {
        if (this.client === c) this.client = undefined;
      });
      try {
        c.connect({
          host: o.host,
          port: o.port,
          username: o.username,
          privateKey: o.privateKey,
          readyTimeout: o.connectTimeoutMs,
          keepaliveInterval: 15_000,
          hostVerifier: (key: Buffer) => {
            seen = sshFingerprint(key);
            return seen === o.hostKeyFingerprint;
          },
        });
      } catch (err) {
        reject(
          new RouterFailure("AUTHENTICATION_FAILED", `the vr-manager's key cannot be used: ${(err as Error).message}`),
        );
      }
    });
  }

  run(argv: readonly string[], stdin: string): Promise<RunResult> {
    const command = argv.map(shellQuote).join(" ");
    return this.slots.run(async () => {
      const c = await this.connect();
      return new Promise<RunResult>((resolve, reject) => {
        c.exec(command, (err, ch) => {
          if (err !== undefined && err !== null) {
            reject(new RouterFailure("UNREACHABLE", `cannot open a channel to router ${this.where}: ${err.message}`));
            return;
          }
          let stdout = "";
          let stderr = "";
          let code: number | null = null;
          const timer = setTimeout(() => {
            ch.close();
            reject(
              new RouterFailure(
                "UNREACHABLE",
                `${argv[0] ?? ""} on router ${this.where} took over ${this.opts.commandTimeoutMs} ms`,
              ),
            );
          }, this.opts.commandTimeoutMs);
          ch.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
          ch.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
          ch.on("exit", (exitCode: number | null) => (code = exitCode));
          ch.on("close", () => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
          });
          ch.end(stdin);
        });
      });
    });
  }

  writeFile(path: string, data: Buffer, mode: number): Promise<void> {
    return this.slots.run(async () => {
      const c = await this.connect();
      await new Promise<void>((resolve, reject) => {
        c.sftp((err, sftp) => {
          if (err !== undefined && err !== null) {
            reject(new RouterFailure("UNREACHABLE", `SFTP to router ${this.where} failed: ${err.message}`));
            return;
          }
          const done = (e?: Error | null) => {
            sftp.end();
            if (e)
              reject(new RouterFailure("PROGRAM_FAILED", `cannot write ${path} on router ${this.where}: ${e.message}`));
            else resolve();
          };
          // Written aside, then renamed: a router never runs half a program.
          const draft = `${path}.new`;
          sftp.writeFile(draft, data, { mode }, (e) => {
            if (e) return done(e);
            sftp.chmod(draft, mode, (e2) => {
              if (e2) return done(e2);
              sftp.ext_openssh_rename(draft, path, done);
            });
          });
        });
      });
    });
  }

  close(): void {
    this.client?.end();
    this.client = undefined;
  }
}
