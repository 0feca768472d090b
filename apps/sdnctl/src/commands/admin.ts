import { backupState, BackupError, connectBus, restoreState, silentLogger, useStorage } from "@sdn/bus";
import type { NatsConnection } from "@nats-io/transport-node";
import { Argument } from "@commander-js/extra-typings";
import { inboxPrefix } from "@sdn/contracts";
import { readFile, open } from "node:fs/promises";
import { CliError, EXIT, UsageError } from "../errors.js";
import type { CliIo } from "../io.js";
import { examples, type CommandModule } from "./registry.js";

/** The backup could not be made or restored for a reason the operator can act on. */
class StateRefusedError extends CliError {
  override readonly name = "StateRefusedError";
  readonly exitCode = EXIT.refused;
}

/** NATS could not be reached. */
class BusUnreachableError extends CliError {
  override readonly name = "BusUnreachableError";
  readonly exitCode = EXIT.unavailable;
}

/**
 * `admin backup` and `admin restore` talk to NATS directly (not to the HTTP API): they must
 * work while the services are stopped. The connection comes from the services' own
 * variables: NATS_URL and its credentials.
 */
const connectFromEnv = async (io: CliIo): Promise<NatsConnection> => {
  const env = io.env;
  const servers = env["NATS_URL"] ?? "nats://127.0.0.1:4222";
  const replicas = Number(env["SDN_NATS_REPLICAS"] ?? "1");
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new UsageError(`SDN_NATS_REPLICAS must be an integer from 1 to 5`);
  }
  const optional = (name: string) => env[name];
  const credentials = Object.fromEntries(
    (
      [
        ["credsFile", "NATS_CREDS"],
        ["nkeySeedFile", "NATS_NKEY_SEED_FILE"],
        ["user", "NATS_USER"],
        ["pass", "NATS_PASSWORD"],
        ["token", "NATS_TOKEN"],
        ["tlsCaFile", "NATS_TLS_CA"],
        ["tlsCertFile", "NATS_TLS_CERT"],
        ["tlsKeyFile", "NATS_TLS_KEY"],
      ] as const
    ).flatMap(([key, name]) => (optional(name) === undefined ? [] : [[key, optional(name)]])),
  );
  try {
    const nc = await connectBus({
      servers,
      name: "sdnctl-admin",
      logger: silentLogger,
      ...credentials,
      // The generated state credentials (state.creds) read replies only here.
      inboxPrefix: env["NATS_INBOX_PREFIX"] ?? inboxPrefix("state"),
    });
    useStorage(nc, { replicas });
    return nc;
  } catch (err) {
    throw new BusUnreachableError(`cannot reach NATS at ${servers}: ${(err as Error).message}`, { cause: err });
  }
};

const withBus = async <T>(io: CliIo, work: (nc: NatsConnection) => Promise<T>): Promise<T> => {
  const nc = await connectFromEnv(io);
  try {
    return await work(nc);
  } catch (err) {
    if (err instanceof BackupError) throw new StateRefusedError(err.message, { cause: err });
    throw err;
  } finally {
    await nc.close();
  }
};

export const adminCommands: CommandModule = (program, deps) => {
  const admin = program
    .command("admin")
    .description("operate the controller's state over NATS (NATS_URL and its credentials; no API token)");

  admin
    .command("backup")
    .description("write every bucket of the controller's state to FILE (mode 0600; '-' for stdout)")
    .addArgument(new Argument("<file>", "where to write the backup"))
    .addHelpText("after", examples("NATS_URL=nats://127.0.0.1:4222 sdnctl admin backup sdn-$(date +%F).jsonl"))
    .action(async (file) => {
      const { io } = deps;
      await withBus(io, async (nc) => {
        const handle =
          file === "-"
            ? undefined
            : await open(file, "wx", 0o600).catch((err: NodeJS.ErrnoException) => {
                throw new UsageError(err.code === "EEXIST" ? `${file} exists; choose a new file` : err.message);
              });
        try {
          const written = await backupState(nc, (line) =>
            handle === undefined ? void io.stdout.write(line) : handle.write(line).then(() => undefined),
          );
          io.stderr.write(`backed up ${written.entries} entries of ${written.buckets} buckets\n`);
        } finally {
          await handle?.close();
        }
      });
    });

  admin
    .command("restore")
    .description("restore the controller's state from FILE; the services must be stopped")
    .addArgument(new Argument("<file>", "a file written by 'sdnctl admin backup' ('-' for stdin)"))
    .option("--replace", "empty buckets that already hold state before restoring into them")
    .addHelpText(
      "after",
      examples("sdnctl admin restore sdn-2026-12-03.jsonl", "sdnctl admin restore --replace old.jsonl"),
    )
    .action(async (file, opts) => {
      const { io } = deps;
      const text =
        file === "-"
          ? await io.readStdin()
          : await readFile(file, "utf8").catch((err: Error) => {
              throw new UsageError(`cannot read ${file}: ${err.message}`);
            });
      await withBus(io, async (nc) => {
        const restored = await restoreState(nc, text, { replace: opts.replace === true });
        io.stderr.write(`restored ${restored.entries} entries of ${restored.buckets} buckets\n`);
      });
    });
};
