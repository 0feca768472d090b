import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BusCredentialIssuer, ensureBusCredentials, type BusCredentialFiles } from "@sdn/bus-auth";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { inboxPrefix, type ServiceName } from "@sdn/contracts";
import { readFileSync } from "node:fs";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

/** A bus principal a test can connect as. */
export type TestPrincipal = ServiceName | "admin" | "state";

/**
 * A real `nats-server -js` on a free loopback port, with its own store directory, that a
 * test can stop and start again on the same port and store (to test restarts).
 * `start()` runs it without authentication; `startSecured()` with the generated
 * operator/JWT configuration `npm start` uses, and hands out each principal's credentials.
 */
export class TestNatsServer {
  private child: ChildProcess | undefined;
  private output = "";

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    /** The generated credentials; undefined for a server without authentication. */
    readonly auth: BusCredentialFiles | undefined,
  ) {}

  static async start(): Promise<TestNatsServer> {
    const server = new TestNatsServer(await freePort(), mkdtempSync(join(tmpdir(), "sdn-nats-")), undefined);
    await server.restart();
    return server;
  }

  /** A server with authentication on, configured exactly as the launcher configures its own. */
  static async startSecured(): Promise<TestNatsServer> {
    const storeDir = mkdtempSync(join(tmpdir(), "sdn-nats-"));
    const auth = await ensureBusCredentials(join(storeDir, "bus-credentials"), join(storeDir, "jwt"));
    const server = new TestNatsServer(await freePort(), storeDir, auth);
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The environment a service needs to reach this server as itself (NATS_URL, and NATS_CREDS when secured). */
  serviceEnv(principal: TestPrincipal): Record<string, string> {
    return { NATS_URL: this.url, ...(this.auth === undefined ? {} : { NATS_CREDS: this.auth.credsPath(principal) }) };
  }

  /** Connects as a principal (anonymously on a server without authentication). */
  connectAs(principal: TestPrincipal): Promise<NatsConnection> {
    return connect({
      servers: this.url,
      name: `test-${principal}`,
      inboxPrefix: inboxPrefix(principal),
      ...(this.auth === undefined
        ? {}
        : { authenticator: credsAuthenticator(readFileSync(this.auth.credsPath(principal))) }),
    });
  }

  /** Issues and revokes tenant / admin bus credentials as the gateway does. */
  issuer(): BusCredentialIssuer {
    if (this.auth === undefined) throw new Error("this test server runs without authentication");
    return new BusCredentialIssuer(this.auth.trust.issuer, { servers: this.url });
  }

  /** (Re)starts the server on the same port and store. */
  async restart(): Promise<void> {
    if (this.child !== undefined) await this.stop();
    const bin = process.env["NATS_SERVER_BIN"] ?? "nats-server";
    this.output = "";
    const args =
      this.auth === undefined
        ? ["-js", "-a", "127.0.0.1", "-p", String(this.port), "-sd", this.storeDir]
        : ["-c", this.writeConfig()];
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    await waitFor(`nats-server on port ${this.port}`, () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${this.output}`);
      return this.output.includes("Server is ready") ? true : undefined;
    });
  }

  /** What the server logged since it last started (permission violations show here). */
  get log(): string {
    return this.output;
  }

  private writeConfig(): string {
    const path = join(this.storeDir, "nats-server.conf");
    const auth = readFileSync((this.auth as BusCredentialFiles).serverConfigPath, "utf8");
    writeFileSync(
      path,
      `listen: "127.0.0.1:${this.port}"\njetstream { store_dir: ${JSON.stringify(this.storeDir)} }\n${auth}`,
      { mode: 0o600 },
    );
    return path;
  }

  /** Stops the server (SIGTERM) and waits for it to exit; the store is kept. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  /** Stops the server and deletes its store. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
