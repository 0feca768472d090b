import { Parser } from "@asyncapi/parser";
import { Validator } from "@seriousme/openapi-schema-validator";
import { ALL_COMMANDS, ALL_EVENTS } from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./test-support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("API documents", () => {
  it("serves an OpenAPI 3.1 document that a validator accepts, covering every route", async () => {
    const doc = (await h.app.inject({ url: "/openapi.json" })).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(doc.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const documented = Object.keys(doc.paths);
    const routes = h.app
      .printRoutes({ commonPrefix: false })
      .split("\n")
      .map((l) => /(\/v1\/[^\s(]*)/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined)
      .map((p) => p.replace(/:([A-Za-z]+)/g, "{$1}"));
    expect(routes.length).toBeGreaterThan(5);
    for (const r of routes) expect(documented, r).toContain(r);
  });

  it("serves an AsyncAPI 3 document that the AsyncAPI parser accepts, naming every command and event", async () => {
    const doc = (await h.app.inject({ url: "/asyncapi.json" })).json<{
      channels: Record<string, { address: string | null }>;
    }>();
    const { diagnostics } = await new Parser().parse(doc as never);
    // Severity 0 is "error" in the parser's diagnostics.
    const errors = diagnostics.filter((d) => Number(d.severity) === 0);
    expect(errors.map((e) => `${e.path.join(".")}: ${e.message}`)).toEqual([]);
    const addresses = Object.values(doc.channels).map((c) => c.address);
    for (const c of ALL_COMMANDS.filter((c) => c.delivery === "durable")) {
      expect(addresses).toContain(`sdn.cmd.${c.service}.{origin}.${c.name}`);
    }
    for (const e of ALL_EVENTS) expect(addresses).toContain(`sdn.evt.{account}.${e.service}.${e.name}`);
  });
});
