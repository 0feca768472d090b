import { COMMAND_SERVICES, SERVICE_NAMES } from "@sdn/contracts";
import { expect, it } from "vitest";
import type { ContainerSystem } from "../system.js";

/** The system as docker-compose.yml deploys it: up, ready, every service on the command path. */
export const deploymentSteps = (system: () => ContainerSystem): void => {
  it("comes up ready: NATS reachable and every service answering", async () => {
    expect(await system().waitUntilReady()).toEqual({
      ready: true,
      nats: { ok: true, detail: expect.stringMatching(/^round trip/) },
      services: Object.fromEntries(COMMAND_SERVICES.map((s) => [s, { ok: true, detail: "answering" }])),
    });
  });

  it("answers a durable CheckHealth sent over HTTP (admin) by every service", async () => {
    for (const service of COMMAND_SERVICES) {
      const res = await system().api("POST", `/v1/services/${service}/health-checks`);
      expect(res.status, service).toBe(200);
      expect(res.body).toMatchObject({ service, version: "0.1.0", instanceId: expect.stringMatching(service) });
    }
  });

  it("serves the OpenAPI document and the interactive docs from the container", async () => {
    const doc = await fetch(`${system().gatewayUrl}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(await doc.json()).toMatchObject({ openapi: "3.1.0" });
    expect((await fetch(`${system().gatewayUrl}/docs/`)).status).toBe(200);
  });

  it("runs every service as the unprivileged node user, reported healthy by its image's health check", async () => {
    for (const name of SERVICE_NAMES) {
      const info = await system().inspect(name);
      expect(info.Config.User, name).toBe("node");
    }
    // The first check runs one interval (15 s) after the start.
    await system().waitUntilHealthy(SERVICE_NAMES, 60_000);
  });
};
