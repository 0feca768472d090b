import { connect, type NatsConnection } from "@nats-io/transport-node";
import { apiGatewaySpec } from "@sdn/api-gateway";
import type { ServiceSpec } from "@sdn/runtime";
import { freePort, TestNatsServer } from "@sdn/testkit";
import { startStack, type ServiceStack } from "@sdn/testkit/stack";
import { randomBytes } from "node:crypto";

type Env = Record<string, string | undefined>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- specs of different config shapes
type Services = readonly (readonly [ServiceSpec<any>, Env?])[];

export interface HttpGateway {
  nats: TestNatsServer;
  /** The test's own connection to the bus (to read what the services stored, or send as they do). */
  nc: NatsConnection;
  baseUrl: string;
  adminToken: string;
  stop(): Promise<void>;
}

/**
 * The gateway listening on a free port (a generated admin token), in front of the services a
 * suite names with their settings, on a fresh nats-server without authentication. A start
 * that fails leaves nothing running.
 */
export const startHttpGateway = async (
  /** The services behind the gateway; a function when their settings name the server's store. */
  services: Services | ((nats: TestNatsServer) => Services),
): Promise<HttpGateway> => {
  const nats = await TestNatsServer.start();
  const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
  let nc: NatsConnection | undefined;
  let stack: ServiceStack;
  const port = await freePort();
  try {
    nc = await connect({ servers: nats.url });
    stack = await startStack({ NATS_URL: nats.url }, [
      [apiGatewaySpec, { SDN_HTTP_PORT: String(port), SDN_ADMIN_TOKEN: adminToken }],
      ...(typeof services === "function" ? services(nats) : services),
    ]);
  } catch (err) {
    await nc?.close();
    await nats.dispose();
    throw err;
  }
  const connection = nc;
  return {
    nats,
    nc: connection,
    baseUrl: `http://127.0.0.1:${port}`,
    adminToken,
    stop: async () => {
      await stack.stop();
      await connection.close();
      await nats.dispose();
    },
  };
};
