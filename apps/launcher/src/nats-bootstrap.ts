import { ensureBusCredentials, type BusCredentialFiles } from "@sdn/bus-auth";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { access, constants } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import * as path from "node:path";

export class NatsServerMissingError extends Error {
  override readonly name = "NatsServerMissingError";
  constructor() {
    super(
      "no nats-server binary was found on PATH (or /usr/sbin).\n" +
        "  Install it (Debian/Ubuntu: `sudo apt-get install nats-server`; others: https://nats.io/download),\n" +
        "  or point NATS_URL at a running NATS server with JetStream enabled, with credentials (docs/bus-security.md).",
    );
  }
}

/** True when something accepts TCP connections on host:port within the timeout. */
export const portAnswers = (host: string, port: number, timeoutMs = 500): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });

const findExecutable = async (name: string, searchPath: string): Promise<string | undefined> => {
  const dirs = searchPath.split(path.delimiter).filter((d) => d !== "");
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
};

export interface EmbeddedNats {
  url: string;
  process: ChildProcess | undefined;
  /** The generated credentials of a server the launcher started; undefined for NATS_URL. */
  credentials: BusCredentialFiles | undefined;
}

/**
 * NATS_URL when set (credentials from the NATS_* variables); else our own nats-server,
 * authentication on, with credentials generated under `<dataDir>/bus-credentials` and its
 * data under `<dataDir>/nats`. Never a server someone else started: whoever owns a port
 * would receive every command. `port` is where it listens (another free one when taken).
 */
export const resolveNats = async (env: NodeJS.ProcessEnv, dataDir: string, port = 4222): Promise<EmbeddedNats> => {
  if (env["NATS_URL"]) return { url: env["NATS_URL"], process: undefined, credentials: undefined };
  const bin = await findExecutable("nats-server", env["PATH"] ?? "");
  if (bin === undefined) throw new NatsServerMissingError();
  const storeDir = path.resolve(dataDir, "nats");
  mkdirSync(storeDir, { recursive: true, mode: 0o700 });
  const credentials = await ensureBusCredentials(path.resolve(dataDir, "bus-credentials"), path.join(storeDir, "jwt"));
  const listenPort = (await portAnswers("127.0.0.1", port)) ? 0 : port;
  const configPath = path.join(storeDir, "nats-server.conf");
  const logPath = path.join(storeDir, "nats-server.log");
  writeFileSync(
    configPath,
    [
      `listen: "127.0.0.1:${listenPort === 0 ? -1 : listenPort}"`,
      `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
      `log_file: ${JSON.stringify(logPath)}`,
      `ports_file_dir: ${JSON.stringify(storeDir)}`,
      readFileSync(credentials.serverConfigPath, "utf8"),
    ].join("\n"),
    { mode: 0o600 },
  );
  const child = spawn(bin, ["-c", configPath], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    const actual = listenPort === 0 ? portsFilePort(storeDir, child.pid) : listenPort;
    if (actual !== undefined && (await portAnswers("127.0.0.1", actual))) {
      return { url: `nats://127.0.0.1:${actual}`, process: child, credentials };
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  throw new Error(`the embedded nats-server (${bin}) did not start listening; its log: ${logPath}`);
};

/** The client port a server started with a random port wrote to its ports file. */
const portsFilePort = (dir: string, pid: number | undefined): number | undefined => {
  try {
    const ports = JSON.parse(readFileSync(path.join(dir, `nats-server_${pid}.ports`), "utf8")) as { nats?: string[] };
    const url = ports.nats?.[0];
    return url === undefined ? undefined : Number(new URL(url).port);
  } catch {
    return undefined;
  }
};
