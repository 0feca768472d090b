import { SERVICE_NAMES, type ServiceName } from "@sdn/contracts";
import { serviceNodeOptions } from "@sdn/launcher";
import { TestNatsServer } from "@sdn/testkit";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Idle memory (issue 18): the resident set of each service started as `npm start` starts it
 * (its built `dist/main.js` in its own process, with its own bus credentials), once it has
 * logged "started" and sat idle a while, next to the 80 MB target and to a baseline measured
 * in the same run: a bare node process connected to the same NATS with @nats-io/transport-node
 * (with the same V8 flags).
 * The baseline is the floor no service can go under; the difference is what the service holds.
 */
const TARGET_MB = 80;
/** Idle time before reading: start-up garbage is collected, timers have run once. */
const SETTLE_MS = 8_000;
const STARTUP_TIMEOUT_MS = 60_000;

const root = fileURLToPath(new URL("../../", import.meta.url));

const rssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN) / 1024;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns node and resolves once its output contains `ready` (the child is returned to be stopped). */
const startProcess = (args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} did not log '${ready}': ${output.slice(-2000)}`));
    }, STARTUP_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      // Only the start-up lines are kept: an idle process must not grow the bench's memory.
      if (output.length < 64_000) output += d.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited (${code}): ${output.slice(-2000)}`));
    });
  });

const stopProcess = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });

const BASELINE = `
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { readFileSync } from "node:fs";
const nc = await connect({ servers: process.env.NATS_URL, authenticator: credsAuthenticator(readFileSync(process.env.NATS_CREDS)) });
await nc.flush();
console.log("baseline connected");
`;

const serviceEnv = (nats: TestNatsServer, name: ServiceName, dataDir: string): NodeJS.ProcessEnv => ({
  PATH: process.env["PATH"],
  // The V8 flags the launcher gives each service.
  NODE_OPTIONS: serviceNodeOptions(process.env),
  ...nats.serviceEnv(name),
  SDN_DATA_DIR: join(dataDir, name),
  SDN_HTTP_PORT: "0",
  LOG_LEVEL: "info",
  ...(name === "api-gateway" && nats.auth !== undefined ? { SDN_BUS_ISSUER_FILE: nats.auth.issuerPath } : {}),
});

const line = (what: string, mb: number, base: number) =>
  process.stdout.write(
    `${what.padEnd(18)} ${mb.toFixed(1).padStart(6)} MB  (${(mb - base).toFixed(1).padStart(5)} MB over baseline)` +
      `  target: < ${TARGET_MB} MB ${mb < TARGET_MB ? "ok" : "MISSED"}\n`,
  );

export default async function run(): Promise<void> {
  // The services run from `dist`, as `npm start` runs them: build what changed first (the
  // same build, TypeBox's bundle included).
  const build = spawnSync(process.execPath, ["--import", "tsx", join(root, "scripts/build.ts")], {
    cwd: root,
    stdio: "inherit",
  });
  if (build.status !== 0) throw new Error("the build failed");
  const nats = await TestNatsServer.startSecured();
  const dataDir = mkdtempSync(join(tmpdir(), "sdn-idle-"));
  const children: ChildProcess[] = [];
  try {
    const baseline = await startProcess(
      ["--input-type=module", "-e", BASELINE],
      { PATH: process.env["PATH"], NODE_OPTIONS: serviceNodeOptions(process.env), ...nats.serviceEnv("network-guru") },
      "baseline connected",
    );
    children.push(baseline);
    // One at a time: on a loaded machine, starting all at once only makes start-up slower.
    for (const name of SERVICE_NAMES) {
      children.push(
        await startProcess(
          [join(root, "services", name, "dist/main.js")],
          serviceEnv(nats, name, dataDir),
          `${name} started`,
        ),
      );
    }
    await sleep(SETTLE_MS);
    const base = rssMb(baseline.pid as number);
    process.stdout.write(
      `idle RSS after ${SETTLE_MS / 1000} s (one sample; on a loaded machine runs differ by up to ~10 MB)\n`,
    );
    line("baseline (bare)", base, base);
    SERVICE_NAMES.forEach((name, i) => line(name, rssMb(children[i + 1]?.pid as number), base));
  } finally {
    await Promise.all(children.map(stopProcess));
    await nats.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
