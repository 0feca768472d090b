import { credentialOptions } from "@sdn/bus";
import { BusCredentialIssuer, readIssuerKeys, type IssuerKeys } from "@sdn/bus-auth";
import {
  busCredentialsOf,
  ConfigError,
  packageVersion,
  RunLevel,
  type BaseConfig,
  type ServiceContext,
  type ServiceSpec,
} from "@sdn/runtime";
import type { Static } from "@sdn/typebox";
import { BusCredentialStore } from "./bus-credentials/credential-store.js";
import { buildGateway, type GatewayApp } from "./app.js";
import { GatewayAuditWriter } from "./audit/audit-writer.js";
import { AccountStore } from "./auth/account-store.js";
import { bootstrapAdminToken } from "./auth/admin-bootstrap.js";
import { TokenStore } from "./auth/token-store.js";
import { GatewayConfig } from "./config.js";
import { IdempotencyStore, JobStore } from "./jobs/job-store.js";
import { QuotaLocks } from "./limits/quota-locks.js";

/** The bus credential store when the gateway has issuing keys; the issuer reaches NATS as the gateway does. */
const busCredentialStore = async (
  ctx: ServiceContext<Static<GatewayConfig> & BaseConfig>,
): Promise<{ busCredentials?: BusCredentialStore }> => {
  const file = ctx.config.SDN_BUS_ISSUER_FILE;
  if (file === undefined) return {};
  let keys: IssuerKeys;
  try {
    keys = readIssuerKeys(file);
  } catch (err) {
    throw new ConfigError([
      {
        variable: "SDN_BUS_ISSUER_FILE",
        problem: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? "not JSON"}`,
      },
    ]);
  }
  const { tlsCaFile, tlsCertFile, tlsKeyFile } = busCredentialsOf(ctx.config, "");
  const tls = credentialOptions({
    ...(tlsCaFile === undefined ? {} : { tlsCaFile }),
    ...(tlsCertFile === undefined ? {} : { tlsCertFile }),
    ...(tlsKeyFile === undefined ? {} : { tlsKeyFile }),
  });
  const issuer = new BusCredentialIssuer(keys, { servers: ctx.config.NATS_URL.split(","), ...tls });
  return { busCredentials: await BusCredentialStore.open(ctx.nc, issuer) };
};

/** The API gateway as the runtime starts it: an HTTP server at the main-loop run level. */
export const apiGatewaySpec: ServiceSpec<GatewayConfig["properties"]> = {
  name: "api-gateway",
  version: packageVersion(import.meta.url),
  description: "HTTP API: turns calls into bus commands and answers into responses",
  config: GatewayConfig,
  setup: async (ctx) => {
    const tokens = await TokenStore.open(ctx.nc);
    const stores = {
      tokens,
      accounts: await AccountStore.open(ctx.nc),
      jobs: await JobStore.open(ctx.nc),
      idempotency: await IdempotencyStore.open(ctx.nc),
      quotaLocks: await QuotaLocks.open(ctx.nc),
    };
    const credentials = await busCredentialStore(ctx);
    let app: GatewayApp | undefined;
    const http = {
      name: "http",
      runLevel: RunLevel.ApplicationMainLoop,
      start: async () => {
        await bootstrapAdminToken(tokens, {
          envToken: ctx.config.SDN_ADMIN_TOKEN,
          dataDir: ctx.config.SDN_DATA_DIR,
          logger: ctx.logger,
          audit: new GatewayAuditWriter(ctx.nc, ctx.logger),
        });
        app = await buildGateway({
          bus: { nc: ctx.nc, commands: ctx.commands },
          logger: ctx.logger,
          version: ctx.version,
          settings: {
            commandWaitMs: ctx.config.SDN_COMMAND_WAIT_MS,
            readyTimeoutMs: ctx.config.SDN_READY_TIMEOUT_MS,
            defaultQuotas: {
              networks: ctx.config.SDN_QUOTA_NETWORKS,
              nics: ctx.config.SDN_QUOTA_NICS,
              publicIps: ctx.config.SDN_QUOTA_PUBLIC_IPS,
              tokens: ctx.config.SDN_QUOTA_TOKENS,
              rules: ctx.config.SDN_QUOTA_RULES,
            },
            tokenMaxLifetimeSeconds: ctx.config.SDN_TOKEN_MAX_LIFETIME_SECONDS,
          },
          bodyLimitBytes: ctx.config.SDN_BODY_LIMIT_BYTES,
          rateLimitPerMinute: ctx.config.SDN_RATE_LIMIT_PER_MINUTE,
          eventStreams: {
            perAccount: ctx.config.SDN_EVENT_STREAMS_PER_ACCOUNT,
            total: ctx.config.SDN_EVENT_STREAMS_MAX,
            bufferBytes: ctx.config.SDN_EVENT_STREAM_BUFFER_BYTES,
          },
          ...credentials,
          natsUrl: ctx.config.NATS_URL,
          stores,
        });
        const address = await app.listen({ host: ctx.config.SDN_HTTP_HOST, port: ctx.config.SDN_HTTP_PORT });
        ctx.logger.info({ address }, `HTTP API listening on ${address} (docs at ${address}/docs)`);
      },
      stop: async () => {
        await app?.close();
      },
    };
    return { components: [http] };
  },
};
