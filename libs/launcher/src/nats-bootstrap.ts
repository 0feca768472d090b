import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { access, constants } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import * as path from "node:path";

export class NatsServerMissingError extends Error {
  override readonly name = "NatsServerMissingError";
  constructor(port: number) {
    super(
      `nothing answers on 127.0.0.1:${port} and no nats-server binary was found on PATH (or /usr/sbin).\n` +
        "  Install it (Debian/Ubuntu: `sudo apt-get install nats-server`; others: https://nats.io/download),\n" +
        "  or point NATS_URL at a running NATS server with JetStream enabled (e.g. NATS_URL=nats://host:4222).",
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
}

/**
 * NATS_URL when set; else a server already on 127.0.0.1:4222; else a local
 * `nats-server -js` with its data under `<dataDir>/nats`.
 */
export const resolveNats = async (env: NodeJS.ProcessEnv, dataDir: string, port = 4222): Promise<EmbeddedNats> => {
  if (env["NATS_URL"]) return { url: env["NATS_URL"], process: undefined };
  const url = `nats://127.0.0.1:${port}`;
  if (await portAnswers("127.0.0.1", port)) return { url, process: undefined };
  const bin = await findExecutable("nats-server", env["PATH"] ?? "");
  if (bin === undefined) throw new NatsServerMissingError(port);
  const storeDir = path.resolve(dataDir, "nats");
  mkdirSync(storeDir, { recursive: true });
  const child = spawn(
    bin,
    ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir, "-l", path.join(storeDir, "nats-server.log")],
    {
      stdio: "ignore",
    },
  );
  for (let i = 0; i < 100; i++) {
    if (await portAnswers("127.0.0.1", port)) return { url, process: child };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  throw new Error(`the embedded nats-server (${bin}) did not start listening on 127.0.0.1:${port}`);
};
