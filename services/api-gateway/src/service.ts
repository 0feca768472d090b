import { packageVersion, RunLevel, type ServiceSpec } from "@sdn/runtime";
import { buildGateway, type GatewayApp } from "./app.js";
import { AccountStore } from "./auth/account-store.js";
import { bootstrapAdminToken } from "./auth/admin-bootstrap.js";
import { TokenStore } from "./auth/token-store.js";
import { GatewayConfig } from "./config.js";
import { IdempotencyStore, JobStore } from "./jobs/job-store.js";

/** The API gateway as the runtime starts it: an HTTP server at the main-loop run level. */
export const apiGatewaySpec: ServiceSpec<GatewayConfig["properties"]> = {
  name: "api-gateway",
  version: packageVersion(import.meta.url),
  description: "HTTP API: turns calls into bus commands and answers into responses",
  config: GatewayConfig,
  components: (ctx) => {
    let app: GatewayApp | undefined;
    return [
      {
        name: "http",
        runLevel: RunLevel.ApplicationMainLoop,
        start: async () => {
          const tokens = await TokenStore.open(ctx.nc);
          await bootstrapAdminToken(tokens, {
            envToken: ctx.config.SDN_ADMIN_TOKEN,
            dataDir: ctx.config.SDN_DATA_DIR,
            logger: ctx.logger,
          });
          app = await buildGateway({
            bus: { nc: ctx.nc, commands: ctx.commands },
            logger: ctx.logger,
            version: ctx.version,
            settings: {
              commandWaitMs: ctx.config.SDN_COMMAND_WAIT_MS,
              readyTimeoutMs: ctx.config.SDN_READY_TIMEOUT_MS,
            },
            bodyLimitBytes: ctx.config.SDN_BODY_LIMIT_BYTES,
            rateLimitPerMinute: ctx.config.SDN_RATE_LIMIT_PER_MINUTE,
            natsUrl: ctx.config.NATS_URL,
            stores: {
              tokens,
              accounts: await AccountStore.open(ctx.nc),
              jobs: await JobStore.open(ctx.nc),
              idempotency: await IdempotencyStore.open(ctx.nc),
            },
          });
          const address = await app.listen({ host: ctx.config.SDN_HTTP_HOST, port: ctx.config.SDN_HTTP_PORT });
          ctx.logger.info({ address }, `HTTP API listening on ${address} (docs at ${address}/docs)`);
        },
        stop: async () => {
          await app?.close();
        },
      },
    ];
  },
};
