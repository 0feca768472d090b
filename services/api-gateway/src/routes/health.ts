import { COMMAND_SERVICES, serviceEndpointGroup } from "@sdn/contracts";
import Type from "@sdn/typebox";
import type { GatewayApp } from "../app.js";

const ServiceState = Type.Object({
  ok: Type.Boolean(),
  detail: Type.String(),
});

const Readiness = Type.Object({
  ready: Type.Boolean(),
  nats: ServiceState,
  services: Type.Record(Type.String(), ServiceState),
});

/**
 * `/healthz`: the process answers. `/readyz`: NATS is reachable and every service answers
 * healthy (its durable command consumer exists, so commands reach it).
 */
export const healthRoutes = async (app: GatewayApp, opts: { readyTimeoutMs: number }): Promise<void> => {
  app.get(
    "/healthz",
    {
      config: { public: true },
      schema: {
        tags: ["Health"],
        summary: "Liveness: the gateway process is running",
        operationId: "getLiveness",
        response: { 200: Type.Object({ status: Type.Literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      config: { public: true },
      schema: {
        tags: ["Health"],
        summary: "Readiness: NATS reachable and every service answering its Health endpoint with status up",
        operationId: "getReadiness",
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_req, reply) => {
      const { nc } = app.bus;
      const nats = await nc
        .rtt()
        .then((rtt) => ({ ok: true, detail: `round trip ${rtt} ms` }))
        .catch((err: Error) => ({ ok: false, detail: `NATS unreachable: ${err.message}` }));
      const entries = await Promise.all(
        COMMAND_SERVICES.map(async (svc) => {
          const state = await nc
            .request(`${serviceEndpointGroup(svc)}.Health`, "", { timeout: opts.readyTimeoutMs })
            .then((m) => {
              // A replica answers "unhealthy" when commands do not reach it (e.g. its consumer is missing).
              const report = m.json<{ status?: string; detail?: string }>();
              return report.status === "up"
                ? { ok: true, detail: "answering" }
                : { ok: false, detail: report.detail ?? `reports ${report.status ?? "no status"}` };
            })
            .catch(() => ({ ok: false, detail: `no answer within ${opts.readyTimeoutMs} ms` }));
          return [svc, state] as const;
        }),
      );
      const services = Object.fromEntries(entries);
      const ready = nats.ok && entries.every(([, s]) => s.ok);
      return reply.status(ready ? 200 : 503).send({ ready, nats, services });
    },
  );
};
