import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from "@nats-io/transport-node";
import { readFileSync } from "node:fs";
import { BusError } from "./errors.js";
import type { BusLogger } from "./logger.js";

/**
 * The standard NATS credential forms; any one (or user/password) plus TLS. File forms are
 * read again on every reconnect, so a rotated file takes effect without a restart.
 */
export interface BusCredentials {
  /** A `.creds` file: user JWT and nkey seed (operator / JWT mode). */
  credsFile?: string;
  /** A file holding an nkey seed (`SU...`) of an nkey user. */
  nkeySeedFile?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** TLS: the CA that signed the server's certificate, and a client certificate and key (mutual TLS). */
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Where this client's request replies arrive; its credentials allow it to read only there. */
  inboxPrefix?: string;
}

export interface BusConnectionOptions extends BusCredentials {
  /** Comma-separated server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string;
  /** Connection name shown by `nats server report connections`. */
  name: string;
  logger: BusLogger;
}

/** A credential file that cannot be read; names the file, never its content. */
export class CredentialFileError extends BusError {
  override readonly name = "CredentialFileError";
  constructor(what: string, file: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException).code ?? "error";
    super("UNAVAILABLE", `cannot read the ${what} file ${file}: ${reason}`, undefined, { cause });
  }
}

const readCredential = (what: string, file: string): Uint8Array => {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CredentialFileError(what, file, err);
  }
};

/** The nats.js options for one set of credentials; files are checked now, so a bad path fails at start. */
export const credentialOptions = (c: BusCredentials): Partial<ConnectionOptions> => {
  const opts: Partial<ConnectionOptions> = {};
  const { credsFile, nkeySeedFile } = c;
  if (credsFile !== undefined) {
    readCredential("NATS credentials (.creds)", credsFile);
    opts.authenticator = credsAuthenticator(() => readCredential("NATS credentials (.creds)", credsFile));
  } else if (nkeySeedFile !== undefined) {
    readCredential("nkey seed", nkeySeedFile);
    opts.authenticator = nkeyAuthenticator(() =>
      new TextEncoder().encode(new TextDecoder().decode(readCredential("nkey seed", nkeySeedFile)).trim()),
    );
  }
  if (c.user !== undefined) opts.user = c.user;
  if (c.pass !== undefined) opts.pass = c.pass;
  if (c.token !== undefined) opts.token = c.token;
  if (c.tlsCaFile !== undefined || c.tlsCertFile !== undefined || c.tlsKeyFile !== undefined) {
    opts.tls = {
      ...(c.tlsCaFile === undefined ? {} : { caFile: c.tlsCaFile }),
      ...(c.tlsCertFile === undefined ? {} : { certFile: c.tlsCertFile }),
      ...(c.tlsKeyFile === undefined ? {} : { keyFile: c.tlsKeyFile }),
    };
  }
  if (c.inboxPrefix !== undefined) opts.inboxPrefix = c.inboxPrefix;
  return opts;
};

/**
 * Connects and keeps reconnecting for as long as the process lives: a NATS restart must
 * not take a service down, only pause it.
 */
export const connectBus = async (opts: BusConnectionOptions): Promise<NatsConnection> => {
  const nc = await connect({
    servers: opts.servers.split(",").map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: false,
    // The client otherwise builds two Error objects (stack captures) per request "in case"
    // it times out: measured at ~20% of a guru replica's CPU. Our timeouts name command and
    // subject (CommandTimeoutError), which is what an operator needs.
    noAsyncTraces: true,
    ...credentialOptions(opts),
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect") {
        opts.logger.warn(
          { status: s.type, server: "server" in s ? s.server : undefined },
          "NATS connection status changed",
        );
      } else if (s.type === "error") {
        // Permission violations land here: the server refused a publish or subscription.
        opts.logger.warn({ err: s.error }, "NATS reported an error");
      }
    }
  })();
  opts.logger.info({ server: nc.getServer() }, "connected to NATS");
  return nc;
};
