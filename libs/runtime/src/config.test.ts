import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Type from "@sdn/typebox";
import { describe, expect, it } from "vitest";
import { BaseConfig, ConfigError, loadConfig } from "./config.js";

const Schema = Type.Object({
  ...BaseConfig.properties,
  SDN_HTTP_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  SDN_FEATURE: Type.Boolean({ default: false }),
});

describe("loadConfig", () => {
  it("applies defaults when nothing is set", () => {
    const c = loadConfig(Schema, {});
    expect(c.NATS_URL).toBe("nats://127.0.0.1:4222");
    expect(c.SDN_HTTP_PORT).toBe(8080);
    expect(c.LOG_LEVEL).toBe("info");
    expect(c.OTEL_TRACES_EXPORTER).toBe("none");
  });

  it("converts numbers and booleans from their text", () => {
    const c = loadConfig(Schema, { SDN_HTTP_PORT: "9090", SDN_FEATURE: "true" });
    expect(c.SDN_HTTP_PORT).toBe(9090);
    expect(c.SDN_FEATURE).toBe(true);
  });

  it("names every bad variable and what was given", () => {
    let error: unknown;
    try {
      loadConfig(Schema, { SDN_HTTP_PORT: "eighty", LOG_LEVEL: "loud" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain("SDN_HTTP_PORT");
    expect(message).toContain("'eighty'");
    expect(message).toContain("LOG_LEVEL");
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual(["LOG_LEVEL", "SDN_HTTP_PORT"]);
  });

  it("names a bad secret variable but never echoes its value", () => {
    const Secrets = Type.Object({
      ...BaseConfig.properties,
      SDN_ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 20 })),
      SDN_SECRET_KEY: Type.Optional(Type.String({ minLength: 32 })),
      SDN_DB_URL: Type.Optional(Type.String({ pattern: "^postgres://" })),
    });
    const values = {
      SDN_ADMIN_TOKEN: "hunter2-short",
      SDN_SECRET_KEY: "tiny-secret-key",
      SDN_DB_URL: "mysql://admin:pa55word@db",
      NATS_PASSWORD: "",
    };
    let error: unknown;
    try {
      loadConfig(Secrets, values);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ["SDN_ADMIN_TOKEN", "SDN_SECRET_KEY", "SDN_DB_URL"]) expect(message).toContain(name);
    for (const secret of ["hunter2", "tiny-secret", "pa55word"]) expect(message).not.toContain(secret);
  });

  it("refuses a port out of range", () => {
    expect(() => loadConfig(Schema, { SDN_HTTP_PORT: "70000" })).toThrow(/SDN_HTTP_PORT/);
  });

  it("reports a missing required variable by name", () => {
    const Required = Type.Object({ SDN_SECRET_KEY_FILE: Type.String() });
    expect(() => loadConfig(Required, {})).toThrow("SDN_SECRET_KEY_FILE: is required");
  });

  it("reads NAME_FILE as the value of NAME, without the final line break, and never quotes it back", () => {
    const dir = mkdtempSync(join(tmpdir(), "sdn-config-"));
    const file = join(dir, "port");
    writeFileSync(file, "9090\n");
    expect(loadConfig(Schema, { SDN_HTTP_PORT_FILE: file }).SDN_HTTP_PORT).toBe(9090);
    writeFileSync(file, "s3cret-not-a-port\n");
    const err = (() => {
      try {
        loadConfig(Schema, { SDN_HTTP_PORT_FILE: file });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("accepted");
    })();
    expect(err.message).toContain("SDN_HTTP_PORT");
    expect(err.message).not.toContain("s3cret");
    expect(() => loadConfig(Schema, { SDN_HTTP_PORT_FILE: join(dir, "absent") })).toThrow(
      /SDN_HTTP_PORT_FILE: cannot read .*absent \(ENOENT\)/,
    );
    expect(() => loadConfig(Schema, { SDN_HTTP_PORT: "1", SDN_HTTP_PORT_FILE: file })).toThrow(
      "SDN_HTTP_PORT_FILE: set SDN_HTTP_PORT or SDN_HTTP_PORT_FILE, not both",
    );
  });
});
