import { Job } from "@sdn/contracts";
import Type from "@sdn/typebox";
import type { GatewayApp } from "../app.js";
import { principalOf } from "../auth/authenticate.js";
import { HttpError } from "../http-errors.js";
import type { JobRecord } from "../jobs/job-store.js";
import { errorResponses } from "../schemas.js";

const toJob = (r: JobRecord): Job => {
  const { accountId: _a, service: _s, commandName: _c, successStatus: _st, ...job } = r;
  return job;
};

/** `GET /v1/jobs/{id}`: the state of a call that outlived its wait time. */
export const jobRoutes = async (app: GatewayApp): Promise<void> => {
  app.get(
    "/v1/jobs/:id",
    {
      schema: {
        tags: ["Jobs"],
        summary: "Get an async job: pending, succeeded (with the result) or failed (with the error)",
        operationId: "getJob",
        params: Type.Object(
          { id: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9_-]+$" }) },
          { additionalProperties: false },
        ),
        response: { 200: Job, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const record = await app.jobs.get(req.params.id);
      if (record === undefined || (principal.role !== "admin" && record.accountId !== principal.accountId)) {
        throw new HttpError("NOT_FOUND", `job ${req.params.id} not found`);
      }
      if (record.status !== "pending") return toJob(record);
      const answer = await app.bus.commands.findAnyAnswer(record.service, record.id, record.accountId);
      if (answer === undefined) return toJob(record);
      return toJob((await app.jobs.complete(record.id, answer)) ?? record);
    },
  );
};
