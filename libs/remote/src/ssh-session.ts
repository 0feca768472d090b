import { Semaphore } from "@sdn/bus";
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import ssh2, { type Client as SshClient, type SFTPWrapper } from "ssh2";
import type { FailureFactory } from "./errors.js";
import { sshFingerprint } from "./fingerprint.js";

const { Client } = ssh2;

export interface SshSessionOptions {
  host: string;
  port: number;
  username: string;
  /** Key authentication; without a key, `password` is used. */
  privateKey?: string;
  passphrase?: string;
  password?: string;
  /** The pinned host key; when absent, `trustOnFirstContact` must be true. */
  hostKeyFingerprint?: string;
  trustOnFirstContact: boolean;
  connectTimeoutMs: number;
  /** Parallel channels on the one connection (stay under sshd's MaxSessions, default 10). */
  maxSessions: number;
  /** What the peer is called in messages, e.g. "router" (default: nothing). */
  peerLabel?: string;
  /** Turns a failure into the caller's error type. */
  failure: FailureFactory;
}

/** A file for `putFiles`: its name in the target folder, content and mode. */
export interface RemoteFile {
  name: string;
  data: Buffer;
  mode: number;
}

export interface ExecResult {
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** A command `SshSession.follow` runs: `ended` gives its exit status (null: closed or killed). */
export interface FollowedCommand {
  ended: Promise<number | null>;
  close(): void;
}

/**
 * One SSH connection to a peer, opened on first use and reused by every command; parallel
 * commands share it as channels, at most `maxSessions` at once. The host key must match the
 * pinned fingerprint (or, when the admin asked for it, is recorded on first contact):
 * never any key.
 */
export class SshSession {
  private client: SshClient | undefined;
  private connecting: Promise<SshClient> | undefined;
  private readonly slots: Semaphore;
  /** The host key fingerprint seen at the last handshake. */
  seenFingerprint: string | undefined;

  constructor(private readonly opts: SshSessionOptions) {
    this.slots = new Semaphore(opts.maxSessions);
  }

  /** `<label> host:port`, as messages name the peer. */
  private get where(): string {
    const at = `${this.opts.host}:${this.opts.port}`;
    return this.opts.peerLabel === undefined ? at : `${this.opts.peerLabel} ${at}`;
  }

  /** Connects (if not yet connected): checks the host key and the credentials. */
  async reach(): Promise<void> {
    await this.connect();
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
      let mismatch = false;
      c.once("ready", () => {
        this.client = c;
        resolve(c);
      });
      c.on("error", (err: Error & { level?: string }) => {
        if (this.client === c) return; // a live connection failing: "close" follows
        if (mismatch) {
          const seen = this.seenFingerprint ?? "unknown";
          reject(
            o.failure(
              "HOST_KEY_MISMATCH",
              `host key of ${this.where} is ${seen}, expected ${o.hostKeyFingerprint ?? "(none)"}`,
            ),
          );
        } else if (err.level === "client-authentication") {
          const what = o.privateKey === undefined ? "password" : "key";
          reject(
            o.failure("AUTHENTICATION_FAILED", `SSH at ${this.where} refused the ${what} of '${o.username}'`, err),
          );
        } else {
          reject(o.failure("UNREACHABLE", `cannot reach SSH at ${this.where}: ${err.message}`, err));
        }
      });
      c.on("close", () => {
        if (this.client === c) this.client = undefined;
      });
      // sshd with PAM asks for the password as keyboard-interactive rather than "password".
      c.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) =>
        finish(prompts.map(() => o.password ?? "")),
      );
      try {
        c.connect({
          host: o.host,
          port: o.port,
          username: o.username,
          ...(o.privateKey === undefined
            ? { password: o.password ?? "", tryKeyboard: true }
            : { privateKey: o.privateKey, ...(o.passphrase === undefined ? {} : { passphrase: o.passphrase }) }),
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
        reject(o.failure("AUTHENTICATION_FAILED", `the private key cannot be used: ${(err as Error).message}`));
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
            reject(this.opts.failure("UNREACHABLE", `cannot open a channel to ${this.where}: ${err.message}`, err));
            return;
          }
          let stdout = "";
          let stderr = "";
          let code: number | null = null;
          let signal: string | undefined;
          const timer = setTimeout(() => {
            ch.close();
            reject(this.opts.failure("TIMEOUT", `${command.split(" ")[0]} on ${this.where} took over ${timeoutMs} ms`));
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

  /**
   * Runs a long-lived `command` and hands `onLine` each line of its output as it comes (a
   * watch). It takes no slot: it would hold one for its whole life and starve the commands;
   * callers keep to one or two per peer, under sshd's MaxSessions with `maxSessions`.
   * `close()` ends it at any point, even before the channel is open.
   */
  follow(command: string, onLine: (line: string) => void): FollowedCommand {
    let channel: { close(): void } | undefined;
    let closed = false;
    let finish: (code: number | null) => void = () => undefined;
    const ended = new Promise<number | null>((resolve, reject) => {
      finish = resolve;
      this.connect().then((c) => {
        if (closed) return;
        c.exec(command, (err, ch) => {
          if (err !== undefined && err !== null) {
            reject(this.opts.failure("UNREACHABLE", `cannot open a channel to ${this.where}: ${err.message}`, err));
            return;
          }
          if (closed) {
            ch.close();
            return;
          }
          channel = ch;
          let code: number | null = null;
          let partial = "";
          ch.on("data", (d: Buffer) => {
            const lines = (partial + d.toString("utf8")).split("\n");
            partial = lines.pop() ?? "";
            for (const line of lines) if (!closed) onLine(line);
          });
          ch.stderr.resume();
          ch.on("exit", (exitCode: number | null) => (code = exitCode));
          ch.on("close", () => resolve(code));
          ch.end();
        });
      }, reject);
    });
    return {
      ended,
      close: () => {
        closed = true;
        channel?.close();
        finish(null);
      },
    };
  }

  /**
   * Puts files into `dir` over one SFTP session, each atomically: written under a temporary
   * name beside its target, given its mode, then renamed over the old file (OpenSSH's
   * posix-rename, which replaces in one step). A program running meanwhile sees the old
   * file or the new one, never half of one. Files go in the order given.
   */
  putFiles(dir: string, files: readonly RemoteFile[]): Promise<void> {
    return this.slots.run(async () => {
      const c = await this.connect();
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
        c.sftp((err, s) =>
          err
            ? reject(this.opts.failure("UNREACHABLE", `SFTP to ${this.where} failed: ${err.message}`, err))
            : resolve(s),
        ),
      );
      try {
        for (const f of files) await this.putFile(sftp, `${dir}/${f.name}`, f);
      } finally {
        sftp.end();
      }
    });
  }

  private async putFile(sftp: SFTPWrapper, path: string, f: RemoteFile): Promise<void> {
    const dir = path.slice(0, path.lastIndexOf("/") + 1);
    const temp = `${dir}.${f.name}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await sftpStep((cb) => sftp.writeFile(temp, f.data, { mode: f.mode }, cb));
      // The mode given at creation passes through the server's umask: set it exactly.
      await sftpStep((cb) => sftp.chmod(temp, f.mode, cb));
      await sftpStep((cb) => sftp.ext_openssh_rename(temp, path, cb));
    } catch (err) {
      await sftpStep((cb) => sftp.unlink(temp, cb)).catch(() => undefined);
      throw this.opts.failure("WRITE_FAILED", `cannot write ${path} on ${this.where}: ${(err as Error).message}`, err);
    }
  }

  /**
   * Opens a stream to a unix socket on the peer (OpenSSH's direct-streamlocal, what
   * `ssh -L local:/remote.sock` uses): e.g. the host's ovsdb-server reached through this
   * connection, with no port opened on the host. Not a session, so it takes no slot.
   */
  async openUnixStream(socketPath: string): Promise<Duplex> {
    const c = await this.connect();
    return new Promise((resolve, reject) =>
      c.openssh_forwardOutStreamLocal(socketPath, (err, ch) =>
        err
          ? reject(
              this.opts.failure("UNREACHABLE", `${this.where} refused a stream to ${socketPath}: ${err.message}`, err),
            )
          : resolve(ch),
      ),
    );
  }

  close(): void {
    this.client?.end();
    this.client = undefined;
  }
}

const sftpStep = (step: (cb: (err?: Error | null) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => step((err) => (err ? reject(err) : resolve())));
