import { readFileSync } from "node:fs";
import Type, { type Static, type TObject, type TProperties } from "typebox";
import { Value } from "typebox/value";
import { Compile } from "typebox/compile";

/** A configuration value that is missing or wrong; names the environment variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly { variable: string; problem: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable}: ${p.problem}`).join("; ")}`);
  }
}

/**
 * Reads settings from environment variables. The schema's property names are the
 * variable names; values are converted (numbers, booleans) and checked, and every bad
 * variable is reported at once.
 */
export const loadConfig = <P extends TProperties>(
  schema: TObject<P>,
  env: Record<string, string | undefined> = process.env,
): Static<TObject<P>> => {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const v = env[key];
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
    const given = env[variable];
    return {
      variable,
      problem:
        e.keyword === "required" ? "is required" : `${e.message}${given === undefined ? "" : ` (got '${given}')`}`,
    };
  });
  throw new ConfigError(problems);
};

/** Settings every service shares. */
export const BaseConfig = Type.Object({
  NATS_URL: Type.String({ default: "nats://127.0.0.1:4222", description: "Comma-separated NATS server URLs" }),
  NATS_USER: Type.Optional(Type.String()),
  NATS_PASSWORD: Type.Optional(Type.String()),
  NATS_TOKEN: Type.Optional(Type.String()),
  LOG_LEVEL: Type.Enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], { default: "info" }),
  SDN_DATA_DIR: Type.String({ default: "./.data", description: "Where local state (keys, tokens) is kept" }),
  SDN_INSTANCE_FILE: Type.Optional(
    Type.String({ description: "Where the process records its bus identity for a local health check (images set it)" }),
  ),
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
});
export type BaseConfig = Static<typeof BaseConfig>;

/** The version in the package.json one folder above `moduleUrl` (works from src/ and dist/). */
export const packageVersion = (moduleUrl: string): string =>
  (JSON.parse(readFileSync(new URL("../package.json", moduleUrl), "utf8")) as { version: string }).version;
