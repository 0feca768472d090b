import { BaseConfig } from "@sdn/runtime";
import Type from "@sdn/typebox";

export const GatewayConfig = Type.Object({
  ...BaseConfig.properties,
  SDN_HTTP_HOST: Type.String({ default: "127.0.0.1", description: "Address the HTTP API listens on" }),
  SDN_HTTP_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  SDN_ADMIN_TOKEN: Type.Optional(
    Type.String({ minLength: 20, description: "Admin bearer token; when unset one is generated into SDN_DATA_DIR" }),
  ),
  SDN_COMMAND_WAIT_MS: Type.Integer({
    default: 5000,
    minimum: 0,
    maximum: 120_000,
    description: "How long a call waits for its answer before answering 202 with a job (reads: 504)",
  }),
  SDN_BODY_LIMIT_BYTES: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 64 * 1_048_576 }),
  SDN_RATE_LIMIT_PER_MINUTE: Type.Integer({
    default: 1200,
    minimum: 1,
    description: "Requests per minute per account (by address while the token is not yet known)",
  }),
  SDN_EVENT_STREAMS_PER_ACCOUNT: Type.Integer({ default: 10, minimum: 1, description: "Open /v1/events per account" }),
  SDN_EVENT_STREAMS_MAX: Type.Integer({ default: 500, minimum: 1, description: "Open /v1/events per gateway" }),
  SDN_EVENT_STREAM_BUFFER_BYTES: Type.Integer({
    default: 1_048_576,
    minimum: 4096,
    description: "Bytes waiting for a slow /v1/events reader before its stream is cut",
  }),
  SDN_QUOTA_NETWORKS: Type.Integer({ default: 50, minimum: 0, description: "Default quota: networks per account" }),
  SDN_QUOTA_NICS: Type.Integer({ default: 500, minimum: 0, description: "Default quota: NICs per account" }),
  SDN_QUOTA_PUBLIC_IPS: Type.Integer({ default: 20, minimum: 0, description: "Default quota: public IPs per account" }),
  SDN_QUOTA_RULES: Type.Integer({
    default: 1000,
    minimum: 0,
    description:
      "Default quota: L3 rules (port forwards, static NATs, firewall/egress rules, load balancers) per account",
  }),
  SDN_QUOTA_TOKENS: Type.Integer({ default: 20, minimum: 1, description: "Default quota: API tokens per account" }),
  SDN_TOKEN_MAX_LIFETIME_SECONDS: Type.Optional(
    Type.Integer({
      minimum: 1,
      description:
        "Longest lifetime of a new API token, and the lifetime of one created without expiresInSeconds; unset: tokens may never expire",
    }),
  ),
  SDN_BUS_ISSUER_FILE: Type.Optional(
    Type.String({
      description:
        "The bus issuing keys (issuer.json of the generated credentials): enables /v1/accounts/{id}/bus-credentials",
    }),
  ),
  SDN_READY_TIMEOUT_MS: Type.Integer({ default: 1500, minimum: 100, maximum: 30_000 }),
});
export type GatewayConfig = typeof GatewayConfig;
