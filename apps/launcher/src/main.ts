import { ISSUER_FILE, type BusCredentialFiles } from "@sdn/bus-auth";
import { SERVICE_NAMES, type ServiceName } from "@sdn/contracts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveNats } from "./nats-bootstrap.js";
import { Supervisor } from "./supervisor.js";

/**
 * `npm start`: every service of the controller on this machine, with NATS found or
 * started as the README describes.
 */
const log = (line: string) => process.stderr.write(`[launcher] ${line}\n`);

/**
 * Each service gets its own credentials: the generated ones, or with NATS_URL the
 * `<service>.creds` files of SDN_BUS_CREDENTIALS_DIR when it is set (else the NATS_*
 * variables as given, shared).
 */
const serviceCredentials = (
  name: ServiceName,
  generated: BusCredentialFiles | undefined,
  env: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv => {
  const dir = generated?.dir ?? env["SDN_BUS_CREDENTIALS_DIR"];
  if (dir === undefined) return {};
  const issuer = join(dir, ISSUER_FILE);
  return {
    NATS_CREDS: join(dir, `${name}.creds`),
    ...(name === "api-gateway" && existsSync(issuer) ? { SDN_BUS_ISSUER_FILE: issuer } : {}),
  };
};

const main = async (): Promise<void> => {
  const dataDir = process.env["SDN_DATA_DIR"] ?? "./.data";
  // Debian installs nats-server in /usr/sbin, which is not on every user's PATH.
  const nats = await resolveNats(
    { ...process.env, PATH: `${process.env["PATH"] ?? ""}:/usr/sbin:/usr/local/sbin` },
    dataDir,
    Number(process.env["SDN_NATS_PORT"] ?? 4222),
  );
  log(
    nats.process === undefined
      ? `using NATS at ${nats.url}`
      : `started nats-server (JetStream, authentication on, data in ${dataDir}/nats) at ${nats.url}; ` +
          `bus credentials in ${nats.credentials?.dir}`,
  );
  const programs = SERVICE_NAMES.map((name) => ({
    name,
    entry: fileURLToPath(new URL(`../../../services/${name}/dist/main.js`, import.meta.url)),
    env: serviceCredentials(name, nats.credentials, process.env),
  }));
  const supervisor = new Supervisor(programs, { ...process.env, NATS_URL: nats.url, SDN_DATA_DIR: dataDir }, log);
  supervisor.start();
  const host = process.env["SDN_HTTP_HOST"] ?? "127.0.0.1";
  const port = process.env["SDN_HTTP_PORT"] ?? "8080";
  log(`starting ${SERVICE_NAMES.join(", ")}; API at http://${host}:${port} (docs: /docs, readiness: /readyz)`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping services`);
    void supervisor.stop().then(() => {
      nats.process?.kill("SIGTERM");
      process.exit(0);
    });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
};

main().catch((err: unknown) => {
  log(`cannot start: ${(err as Error).message}`);
  process.exit(1);
});
