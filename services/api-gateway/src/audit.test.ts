import type { FastifyContextConfig } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test/harness.js";

/*
 * No route changes state unrecorded: each mutating route either sends a bus command (the
 * service that runs it records it) or declares how the gateway records it (config.audit).
 * A new gateway route that changes its own state fails here until it says how it is audited.
 */

let h: Harness;
const configs = new Map<string, FastifyContextConfig>();

beforeAll(async () => {
  h = await startHarness();
  // Added before the first request; onResponse runs even when authentication refuses the call.
  h.app.addHook("onResponse", async (req) => {
    configs.set(`${req.method} ${req.routeOptions.url ?? ""}`, req.routeOptions.config);
  });
});
afterAll(async () => {
  await h?.close();
});

describe("audit coverage", () => {
  it("records every mutating route: by the service its command goes to, or by the gateway itself", async () => {
    const doc = (await h.app.inject({ url: "/openapi.json" })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const mutating = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => path.startsWith("/v1/") && ["post", "put", "patch", "delete"].includes(m))
        .map((m) => ({ method: m.toUpperCase(), path: path.replace(/\{([^}]+)\}/g, ":$1") })),
    );
    expect(mutating.length).toBeGreaterThan(10);
    const unrecorded: string[] = [];
    const gatewayOwn: string[] = [];
    for (const { method, path } of mutating) {
      await h.app.inject({ method: method as "POST", url: path.replace(/:[^/]+/g, "x-1") });
      const config = configs.get(`${method} ${path}`);
      expect(config, `${method} ${path} was not reached`).toBeDefined();
      if (config?.audit !== undefined) gatewayOwn.push(config.audit.command);
      else if (config?.command === undefined) unrecorded.push(`${method} ${path}`);
    }
    expect(unrecorded).toEqual([]);
    expect(gatewayOwn.sort()).toEqual([
      "CreateAccount",
      "CreateBusCredentials",
      "CreateToken",
      "RevokeBusCredentials",
      "RevokeToken",
      "SetQuotas",
    ]);
  });
});
