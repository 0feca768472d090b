import { apiGatewaySpec } from "@sdn/api-gateway";
import type { ServiceSpec } from "@sdn/runtime";
import { freePort, TestNatsServer } from "@sdn/testkit";
import { startStack, type ServiceStack } from "@sdn/testkit/stack";

type Env = Record<string, string | undefined>;

export interface SecuredGateway {
  nats: TestNatsServer;
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * A listening gateway, and the services a suite names, on a nats-server with authentication
 * on: each service connects with its own generated credentials, as `npm start` runs them.
 * The audit suites start their controller this way.
 */
export const startSecuredGateway = async (opts: {
  adminToken: string;
  /** The gateway's own settings besides its port and admin token; may read the server's files. */
  gatewayEnv?: (nats: TestNatsServer) => Env;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- specs of different config shapes
  services?: ServiceSpec<any>[];
}): Promise<SecuredGateway> => {
  const nats = await TestNatsServer.startSecured();
  let stack: ServiceStack;
  const port = await freePort();
  try {
    stack = await startStack(
      (name) => nats.serviceEnv(name),
      [
        [apiGatewaySpec, { SDN_HTTP_PORT: String(port), SDN_ADMIN_TOKEN: opts.adminToken, ...opts.gatewayEnv?.(nats) }],
        ...(opts.services ?? []).map((spec) => [spec] as const),
      ],
    );
  } catch (err) {
    await nats.dispose();
    throw err;
  }
  return {
    nats,
    baseUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      await stack.stop();
      await nats.dispose();
    },
  };
};
