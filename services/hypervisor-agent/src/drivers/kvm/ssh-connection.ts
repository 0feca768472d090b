import { Semaphore } from "@sdn/bus";
import { createHash } from "node:crypto";
import ssh2, { type Client as SshClient } from "ssh2";
import { HostFailure } from "../errors.js";

const { Client } = ssh2;

/** OpenSSH's form of a host key fingerprint: "SHA256:" + unpadded base64 of the key's SHA-256. */
export const sshFingerprint = (key: Buffer): string =>
  `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;

export interface SshOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  passphrase?: string;
  /** The pinned host key; when absent, `trustOnFirstContact` must be true. */
  hostKeyFingerprint?: string;
  trustOnFirstContact: boolean;
  connectTimeoutMs: number;
  /** Parallel channels on the one connection (stay under sshd's MaxSessions, default 10). */
  maxSessions: number;
}

export interface ExecResult {
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/**
 * One SSH connection to a host, opened on first use and reused by every command; parallel
 * commands share it as channels, at most `maxSessions` at once. The host key must match the
 * pinned fingerprint (or, when the admin asked for it, is recorded on first contact):
 * never any key.
 */
export class SshConnection {
  private client: SshClient | undefined;
  private connecting: Promise<SshClient> | undefined;
  private readonly slots: Semaphore;
  /** The host key fingerprint seen at the last handshake. */
  seenFingerprint: string | undefined;

  constructor(private readonly opts: SshOptions) {
    this.slots = new Semaphore(opts.maxSessions);
  }

  private connect(): Promise<SshClient> {
    if (this.client !== undefined) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private open(): Promise<SshClient> {
    const o = this.opts;
    const where = `${o.host}:${o.port}`;
    return new Promise((resolve, reject) => {
      const c = new Client();
      let mismatch = false;
      c.once("ready", () => {
        this.client = c;
        resolve(c);
      });
      c.on("error", (err: Error & { level?: string; code?: string }) => {
        if (this.client === c) return; // a live connection failing: "close" follows
        if (mismatch) {
          reject(
            new HostFailure(
              "HOST_KEY_MISMATCH",
              `host key of ${where} is ${this.seenFingerprint ?? "unknown"}, expected ${o.hostKeyFingerprint ?? "(none)"}`,
            ),
          );
        } else if (err.level === "client-authentication") {
          reject(new HostFailure("AUTHENTICATION_FAILED", `${where} refused the key of '${o.username}'`));
        } else {
          reject(new HostFailure("UNREACHABLE", `cannot reach SSH at ${where}: ${err.message}`));
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
          ...(o.passphrase === undefined ? {} : { passphrase: o.passphrase }),
          readyTimeout: o.connectTimeoutMs,
          keepaliveInterval: 15_000,
          hostVerifier: (key: Buffer) => {
            this.seenFingerprint = sshFingerprint(key);
            if (o.hostKeyFingerprint !== undefined) {
              mismatch = this.seenFingerprint !== o.hostKeyFingerprint;
              return !mismatch;
            }
            return o.trustOnFirstContact;
          },
        });
      } catch (err) {
        // ssh2 throws synchronously on a key it cannot parse; its message names no key material.
        reject(new HostFailure("AUTHENTICATION_FAILED", `the private key cannot be used: ${(err as Error).message}`));
      }
    });
  }

  /** Runs `command` with `stdin`, reading stdout and stderr to the end. */
  exec(command: string, stdin: string, timeoutMs: number): Promise<ExecResult> {
    return this.slots.run(async () => {
      const c = await this.connect();
      return new Promise<ExecResult>((resolve, reject) => {
        c.exec(command, (err, ch) => {
          if (err !== undefined && err !== null) {
            reject(new HostFailure("UNREACHABLE", `cannot open a channel to ${this.opts.host}: ${err.message}`));
            return;
          }
          let stdout = "";
          let stderr = "";
          let code: number | null = null;
          let signal: string | undefined;
          const timer = setTimeout(() => {
            ch.close();
            reject(
              new HostFailure("UNREACHABLE", `${command.split(" ")[0]} on ${this.opts.host} took over ${timeoutMs} ms`),
            );
          }, timeoutMs);
          ch.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
          ch.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
          ch.on("exit", (exitCode: number | null, sig?: string) => {
            code = exitCode;
            signal = sig;
          });
          ch.on("close", () => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
          });
          ch.end(stdin);
        });
      });
    });
  }

  /** Writes a file over SFTP (creating or replacing it) with the given mode. */
  writeFile(path: string, data: Buffer, mode: number): Promise<void> {
    return this.slots.run(async () => {
      const c = await this.connect();
      await new Promise<void>((resolve, reject) => {
        c.sftp((err, sftp) => {
          if (err !== undefined && err !== null) {
            reject(new HostFailure("UNREACHABLE", `SFTP to ${this.opts.host} failed: ${err.message}`));
            return;
          }
          const done = (e?: Error | null) => {
            sftp.end();
            if (e)
              reject(new HostFailure("HOST_PROGRAM_FAILED", `cannot write ${path} on ${this.opts.host}: ${e.message}`));
            else resolve();
          };
          sftp.writeFile(path, data, { mode }, (e) => (e ? done(e) : sftp.chmod(path, mode, done)));
        });
      });
    });
  }

  close(): void {
    this.client?.end();
    this.client = undefined;
  }
}
