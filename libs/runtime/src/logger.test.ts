import { trace } from "@opentelemetry/api";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { REDACTED } from "./redact.js";
import { setupTelemetry, type Telemetry } from "./telemetry.js";

const capture = () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, logger: createLogger("test", "debug", stream) };
};

describe("logger redaction", () => {
  it("removes secrets at any depth, in arrays and in errors", () => {
    const { lines, logger } = capture();
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const key = `-----BEGIN OPENSSH PRIVATE KEY-----\n${Math.random().toString(36)}\n-----END OPENSSH PRIVATE KEY-----`;
    const token = Math.random().toString(36).slice(2);
    logger.info(
      {
        host: { address: "10.0.0.1", password, nested: [{ privateKey: key }] },
        headers: { authorization: `Bearer ${token}` },
        note: `tried Bearer ${token} and it failed`,
        err: new Error(`login with ${key} failed`),
      },
      `host add failed, Bearer ${token}`,
    );
    const out = lines.join("");
    expect(out).not.toContain(password);
    expect(out).not.toContain(token);
    expect(out).not.toContain("PRIVATE KEY-----\n");
    expect(out).toContain(REDACTED);
    expect(out).toContain("10.0.0.1");
    expect(out).toContain("host add failed");
  });

  it("leaves ordinary fields alone", () => {
    const { lines, logger } = capture();
    logger.info({ networkId: "n-1", cidr: "10.1.0.0/24" }, "network designed");
    const entry = JSON.parse(lines[0] ?? "{}") as Record<string, unknown>;
    expect(entry["networkId"]).toBe("n-1");
    expect(entry["cidr"]).toBe("10.1.0.0/24");
    expect(entry["service"]).toBe("test");
  });
});

describe("logger fields", () => {
  let telemetry: Telemetry | undefined;
  beforeAll(async () => {
    telemetry = await setupTelemetry({
      service: "test",
      version: "0",
      instanceId: "test-1",
      exporter: "none",
      otlpEndpoint: "",
    });
  });
  afterAll(() => telemetry?.shutdown());

  it("writes the level as a name", () => {
    const { lines, logger } = capture();
    logger.warn("careful");
    logger.debug("detail");
    expect(lines.map((l) => (JSON.parse(l) as { level: unknown }).level)).toEqual(["warn", "debug"]);
  });

  it("carries the trace and span ids of the current span, and none outside one", () => {
    const { lines, logger } = capture();
    const ids = trace.getTracer("test").startActiveSpan("work", (span) => {
      logger.info("inside");
      span.end();
      return span.spanContext();
    });
    logger.info("outside");
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    // Export is off: the span is not sampled, but its ids are there to correlate.
    expect(inside).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId, trace_flags: "00" });
    expect(outside).not.toHaveProperty("trace_id");
    expect(outside).not.toHaveProperty("span_id");
  });
});
