import type { BusCredentials } from "@sdn/bus";
import { readFileSync } from "node:fs";
import Type, { type Static, type TObject, type TProperties } from "@sdn/typebox";
import { Value } from "@sdn/typebox/value";
import { Compile } from "@sdn/typebox/compile";

/** A configuration value that is missing or wrong; names the environment variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly { variable: string; problem: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable}: ${p.problem}`).join("; ")}`);
  }
}

/**
 * Variables whose values are (or may carry) secrets: their value is never echoed in an
 * error, whatever is wrong with it. URLs count, since they may carry `user:password@`.
 */
const SECRET_VARIABLE = /(TOKEN|PASSWORD|PASSPHRASE|SECRET|KEY|CREDENTIAL|CREDS|SEED|NKEY|AUTH|URL|ENDPOINT)/i;

/** How a bad value is shown in an error: quoted, unless the variable may hold a secret. */
const shownValue = (variable: string, given: string | undefined): string =>
  given === undefined || SECRET_VARIABLE.test(variable) ? "" : ` (got '${given}')`;

/**
 * `<NAME>_FILE`: the value of NAME is the content of that file (Docker and Kubernetes
 * secrets), without its final line break. The file's content never reaches an error.
 */
const fromFiles = (
  keys: readonly string[],
  env: Record<string, string | undefined>,
): { values: Record<string, string>; problems: { variable: string; problem: string }[] } => {
  const values: Record<string, string> = {};
  const problems: { variable: string; problem: string }[] = [];
  for (const key of keys) {
    const path = env[`${key}_FILE`];
    if (path === undefined || path === "") continue;
    if (env[key] !== undefined && env[key] !== "") {
      problems.push({ variable: `${key}_FILE`, problem: `set ${key} or ${key}_FILE, not both` });
      continue;
    }
    try {
      values[key] = readFileSync(path, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      problems.push({
        variable: `${key}_FILE`,
        problem: `cannot read ${path} (${(err as NodeJS.ErrnoException).code})`,
      });
    }
  }
  return { values, problems };
};

/**
 * Reads settings from environment variables (or `<NAME>_FILE`, see fromFiles). The
 * schema's property names are the variable names; values are converted (numbers,
 * booleans) and checked, and every bad variable is reported at once.
 */
export const loadConfig = <P extends TProperties>(
  schema: TObject<P>,
  env: Record<string, string | undefined> = process.env,
): Static<TObject<P>> => {
  const files = fromFiles(Object.keys(schema.properties), env);
  if (files.problems.length > 0) throw new ConfigError(files.problems);
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const v = files.values[key] ?? env[key];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  const withDefaults = Value.Default(schema, Value.Convert(schema, raw));
  const validator = Compile(schema);
  if (validator.Check(withDefaults)) return withDefaults;
  const problems = [...validator.Errors(withDefaults)].map((e) => {
    const variable =
      e.keyword === "required"
        ? ((e.params as { requiredProperties?: string[] }).requiredProperties ?? []).join(", ")
        : e.instancePath.replace(/^\//, "");
    // A value read from a file is a secret: never quoted back.
    const given = variable in files.values ? undefined : env[variable];
    return {
      variable,
      problem: e.keyword === "required" ? "is required" : `${e.message}${shownValue(variable, given)}`,
    };
  });
  throw new ConfigError(problems);
};

/** Settings every service shares. */
export const BaseConfig = Type.Object({
  NATS_URL: Type.String({ default: "nats://127.0.0.1:4222", description: "Comma-separated NATS server URLs" }),
  NATS_CREDS: Type.Optional(Type.String({ description: "A .creds file (user JWT + nkey seed): the service's own" })),
  NATS_NKEY_SEED_FILE: Type.Optional(Type.String({ description: "A file holding an nkey user's seed" })),
  NATS_USER: Type.Optional(Type.String()),
  NATS_PASSWORD: Type.Optional(Type.String()),
  NATS_TOKEN: Type.Optional(Type.String()),
  SDN_NATS_REPLICAS: Type.Integer({
    default: 1,
    minimum: 1,
    maximum: 5,
    description: "Copies of every stream and KV bucket: 1 on one NATS server, 3 on a cluster",
  }),
  NATS_TLS_CA: Type.Optional(Type.String({ description: "CA file that signed the NATS server's certificate" })),
  NATS_TLS_CERT: Type.Optional(Type.String({ description: "Client certificate file (mutual TLS)" })),
  NATS_TLS_KEY: Type.Optional(Type.String({ description: "Client key file (mutual TLS)" })),
  NATS_INBOX_PREFIX: Type.Optional(
    Type.String({ pattern: "^[A-Za-z0-9_.-]+$", description: "Reply inbox prefix; default _INBOX.<service>" }),
  ),
  LOG_LEVEL: Type.Enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], { default: "info" }),
  SDN_DATA_DIR: Type.String({ default: "./.data", description: "Where local state (keys, tokens) is kept" }),
  SDN_INSTANCE_FILE: Type.Optional(
    Type.String({ description: "Where the process records its bus identity for a local health check (images set it)" }),
  ),
  SDN_METRICS_PORT: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 65535,
      description: "Serve Prometheus metrics at http://SDN_METRICS_HOST:<port>/metrics (unset: no listener)",
    }),
  ),
  SDN_METRICS_HOST: Type.String({ default: "127.0.0.1", description: "Address of the metrics listener" }),
  SDN_CONSUMER_CHECK_MS: Type.Integer({
    minimum: 100,
    default: 5_000,
    description: "How often a service checks that its durable command consumer exists, and recreates a missing one",
  }),
  OTEL_TRACES_EXPORTER: Type.Enum(["none", "otlp", "console"], {
    default: "none",
    description: "Where spans go; off by default",
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.String({ default: "http://127.0.0.1:4318" }),
  OTEL_SERVICE_NAME: Type.Optional(Type.String({ description: "service.name of the spans (default: the service)" })),
  OTEL_RESOURCE_ATTRIBUTES: Type.Optional(
    Type.String({ description: "More resource attributes, key=value,key=value (OTel standard)" }),
  ),
});
export type BaseConfig = Static<typeof BaseConfig>;

/** The bus credentials named by the NATS_* variables (only those that are set). */
export const busCredentialsOf = (config: BaseConfig, defaultInboxPrefix: string): BusCredentials => {
  const pick: [keyof BusCredentials, string | undefined][] = [
    ["credsFile", config.NATS_CREDS],
    ["nkeySeedFile", config.NATS_NKEY_SEED_FILE],
    ["user", config.NATS_USER],
    ["pass", config.NATS_PASSWORD],
    ["token", config.NATS_TOKEN],
    ["tlsCaFile", config.NATS_TLS_CA],
    ["tlsCertFile", config.NATS_TLS_CERT],
    ["tlsKeyFile", config.NATS_TLS_KEY],
  ];
  return {
    ...Object.fromEntries(pick.filter(([, v]) => v !== undefined)),
    inboxPrefix: config.NATS_INBOX_PREFIX ?? defaultInboxPrefix,
  };
};

/** The version in the package.json one folder above `moduleUrl` (works from src/ and dist/). */
export const packageVersion = (moduleUrl: string): string =>
  (JSON.parse(readFileSync(new URL("../package.json", moduleUrl), "utf8")) as { version: string }).version;
