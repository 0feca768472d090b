import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { BusLogger } from "./logger.js";

export interface BusConnectionOptions {
  /** Comma-separated server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string;
  /** Connection name shown by `nats server report connections`. */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  logger: BusLogger;
}

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
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    ...(opts.pass !== undefined ? { pass: opts.pass } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect") {
        opts.logger.warn(
          { status: s.type, server: "server" in s ? s.server : undefined },
          "NATS connection status changed",
        );
      }
    }
  })();
  opts.logger.info({ server: nc.getServer() }, "connected to NATS");
  return nc;
};
