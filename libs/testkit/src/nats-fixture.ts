import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll } from "vitest";
import { TestNatsServer } from "./nats-server.js";

/** The nats-server of a test file and the file's connection to it. */
export interface FileNats {
  readonly server: TestNatsServer;
  readonly nc: NatsConnection;
}

/**
 * One nats-server for the whole test file that calls it: started (and connected to) before
 * the file's first test, `prepare` run on the connection (the bus's `ensureStreams`, say),
 * and closed and removed after its last. Its fields are there once the file's tests or
 * later hooks run, not when the file is loaded. Imported from `@sdn/testkit/nats-fixture`
 * (it registers vitest hooks: programs outside vitest import `@sdn/testkit`).
 */
export const useNatsServer = (prepare?: (nc: NatsConnection) => Promise<unknown>): FileNats => {
  let server: TestNatsServer | undefined;
  let nc: NatsConnection | undefined;
  beforeAll(async () => {
    server = await TestNatsServer.start();
    nc = await connect({ servers: server.url });
    await prepare?.(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the file's nats-server starts in beforeAll: read it in a test or hook");
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get nc() {
      return started(nc);
    },
  };
};
