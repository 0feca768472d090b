/**
 * Routes that send a command: the one way HTTP calls reach services.
 *
 * `commandRoute(app, spec)` registers a route that authenticates the caller (see
 * auth/authenticate.ts), validates params/query/body with the spec's TypeBox schemas
 * (unknown fields refused), builds the command body with `toCommand`, and sends it on the
 * tier its definition names with the caller's account and role in the headers. Then:
 * - `kind: "mutation"`: waits up to SDN_COMMAND_WAIT_MS. Answered → `successStatus` with
 *   the data (or the error with its status); not yet → 202 `{ jobId }` with
 *   `Location: /v1/jobs/{jobId}`. An `Idempotency-Key` header makes retries return the first
 *   result without running the command again.
 * - `kind: "read"`: waits the same time; no answer → 504. A read command travels on the
 *   request tier (its definition says `delivery: "request"`): nothing serving it → 503 at once.
 * Services enforce tenancy themselves from the headers; the route only passes them on.
 */
import { CommandTimeoutError } from "@sdn/bus";
import { JobAccepted, type CommandDefinition, type RequestOf, type ResponseOf } from "@sdn/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import { createHash, randomUUID } from "node:crypto";
import Type, { type Static, type TSchema } from "@sdn/typebox";
import { replyWithAnswer } from "./answers.js";
import type { GatewayApp } from "./app.js";
import { principalOf } from "./auth/authenticate.js";
import { HttpError } from "./http-errors.js";
import { errorResponses } from "./schemas.js";

export interface CommandRouteSpec<
  C extends CommandDefinition,
  P extends TSchema = TSchema,
  Q extends TSchema = TSchema,
  B extends TSchema = TSchema,
> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  command: C;
  kind: "read" | "mutation";
  summary: string;
  /** OpenAPI operationId (what generated SDKs name the call); default: the command's name in camelCase. */
  operationId?: string;
  description?: string;
  tags: string[];
  adminOnly?: boolean;
  params?: P;
  querystring?: Q;
  body?: B;
  /** Status of an answered call; 204 sends no body. Default: 200. */
  successStatus?: 200 | 201 | 204;
  /** The HTTP response body schema; default: the command's response. */
  response?: TSchema;
  toCommand: (input: { params: Static<P>; query: Static<Q>; body: Static<B> }) => RequestOf<C> | Promise<RequestOf<C>>;
  /**
   * What makes two requests with one Idempotency-Key "the same request"; default: the
   * command body. Needed where the body is sealed (random each time) and must hold no secret.
   */
  idempotencyView?: (input: { params: Static<P>; query: Static<Q>; body: Static<B> }) => unknown;
  toResponse?: (data: ResponseOf<C>) => unknown;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export const commandRoute = <C extends CommandDefinition, P extends TSchema, Q extends TSchema, B extends TSchema>(
  app: GatewayApp,
  spec: CommandRouteSpec<C, P, Q, B>,
): void => {
  const successStatus = spec.successStatus ?? 200;
  const response = spec.response ?? spec.command.response;
  const statuses =
    spec.kind === "mutation" ? [400, 401, 403, 404, 409, 422, 429, 503] : [400, 401, 403, 404, 429, 503, 504];
  app.route({
    method: spec.method,
    url: spec.url,
    config: { adminOnly: spec.adminOnly === true, command: spec.command.name },
    schema: {
      tags: spec.tags,
      summary: spec.summary,
      operationId: spec.operationId ?? `${spec.command.name.charAt(0).toLowerCase()}${spec.command.name.slice(1)}`,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      ...(spec.params === undefined ? {} : { params: spec.params }),
      ...(spec.querystring === undefined ? {} : { querystring: spec.querystring }),
      ...(spec.body === undefined ? {} : { body: spec.body }),
      ...(spec.kind === "mutation"
        ? {
            headers: Type.Object({
              "idempotency-key": Type.Optional(
                Type.String({ description: "Makes a retry return the first result instead of running again" }),
              ),
            }),
          }
        : {}),
      response: {
        [successStatus]: successStatus === 204 ? { type: "null", description: "Done" } : response,
        ...(spec.kind === "mutation" ? { 202: { ...JobAccepted, description: "Still running: poll the job" } } : {}),
        ...errorResponses(...statuses),
      },
    },
    handler: async (req, reply) => {
      const input = { params: req.params as Static<P>, query: req.query as Static<Q>, body: req.body as Static<B> };
      const body = await spec.toCommand(input);
      if (spec.kind === "read") return sendRead(app, spec, body, req, reply);
      return sendMutation(app, spec, body, spec.idempotencyView?.(input) ?? body, req, reply);
    },
  });
};

const sendOptions = (req: FastifyRequest, commandId: string, timeoutMs: number) => {
  const principal = principalOf(req);
  return { commandId, accountId: principal.accountId, role: principal.role, tokenId: principal.tokenId, timeoutMs };
};

const finish = <C extends CommandDefinition>(
  spec: CommandRouteSpec<C, TSchema, TSchema, TSchema>,
  reply: FastifyReply,
  answer: Awaited<ReturnType<GatewayApp["bus"]["commands"]["send"]>>,
): FastifyReply => {
  const status = spec.successStatus ?? 200;
  if (answer.ok && status === 204) return reply.status(204).send();
  if (answer.ok && spec.toResponse !== undefined) {
    return reply.status(status).send(spec.toResponse(answer.data as ResponseOf<C>));
  }
  return replyWithAnswer(reply, answer, status);
};

/** Sends and waits the configured time; undefined when the wait ran out (the command may still run). */
const sendAndWait = async <C extends CommandDefinition>(
  app: GatewayApp,
  spec: CommandRouteSpec<C, TSchema, TSchema, TSchema>,
  body: RequestOf<C>,
  req: FastifyRequest,
  commandId: string,
) => {
  try {
    return await app.bus.commands.send(spec.command, body, sendOptions(req, commandId, app.settings.commandWaitMs));
  } catch (err) {
    if (err instanceof CommandTimeoutError) return undefined;
    throw err;
  }
};

const sendRead = async <C extends CommandDefinition>(
  app: GatewayApp,
  spec: CommandRouteSpec<C, TSchema, TSchema, TSchema>,
  body: RequestOf<C>,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> => {
  const answer = await sendAndWait(app, spec, body, req, randomUUID());
  if (answer === undefined) {
    throw new HttpError(
      "TIMEOUT",
      `${spec.command.service} did not answer ${spec.command.name} within ${app.settings.commandWaitMs} ms; try again`,
    );
  }
  return finish(spec, reply, answer);
};

const sendMutation = async <C extends CommandDefinition>(
  app: GatewayApp,
  spec: CommandRouteSpec<C, TSchema, TSchema, TSchema>,
  body: RequestOf<C>,
  idempotencyView: unknown,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> => {
  const principal = principalOf(req);
  const commandId = await commandIdFor(app, req, principal.accountId, idempotencyView);
  const answer = await sendAndWait(app, spec, body, req, commandId);
  if (answer !== undefined) return finish(spec, reply, answer);
  await app.jobs.createPending({
    id: commandId,
    accountId: principal.accountId,
    service: spec.command.service,
    commandName: spec.command.name,
    successStatus: spec.successStatus ?? 200,
  });
  return reply.status(202).header("location", `/v1/jobs/${commandId}`).send({ jobId: commandId, status: "pending" });
};

/** A fresh command id, or the one an earlier request with the same Idempotency-Key used. */
const commandIdFor = async (
  app: GatewayApp,
  req: FastifyRequest,
  accountId: string,
  body: unknown,
): Promise<string> => {
  const key = req.headers["idempotency-key"];
  if (key === undefined) return randomUUID();
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key)) {
    throw new HttpError("VALIDATION_FAILED", "Idempotency-Key must be 1–255 printable ASCII characters", {
      issues: [{ path: "headers/idempotency-key", message: "must be 1-255 printable ASCII characters" }],
    });
  }
  const requestHash = sha256(JSON.stringify([req.method, req.routeOptions.url, req.params, body]));
  const record = await app.idempotency.claim(accountId, key, {
    commandId: randomUUID(),
    requestHash,
    createdAt: new Date().toISOString(),
  });
  if (record.requestHash !== requestHash) {
    throw new HttpError(
      "UNPROCESSABLE",
      "this Idempotency-Key was already used for a different request; use a new key",
    );
  }
  return record.commandId;
};
