import { CheckHealth, COMMAND_SERVICES, HealthReport } from "@sdn/contracts";
import Type from "typebox";
import type { GatewayApp } from "../app.js";
import { replyWithAnswer } from "../answers.js";
import { errorResponses } from "../schemas.js";

/**
 * `POST /v1/services/{service}/health-checks`: sends CheckHealth through the durable
 * command tier and returns the service's answer, proving the whole command path.
 */
export const diagnosticsRoutes = async (app: GatewayApp, opts: { waitMs: number }): Promise<void> => {
  app.post(
    "/v1/services/:service/health-checks",
    {
      schema: {
        tags: ["Diagnostics"],
        summary: "Send a CheckHealth command to a service over the durable command path",
        params: Type.Object({ service: Type.Enum([...COMMAND_SERVICES]) }, { additionalProperties: false }),
        response: { 200: HealthReport, ...errorResponses(400, 504) },
      },
    },
    async (req, reply) => {
      const service = req.params.service;
      const answer = await app.bus.commands.send(CheckHealth[service], {}, { timeoutMs: opts.waitMs });
      return replyWithAnswer(reply, answer);
    },
  );
};
