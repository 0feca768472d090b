import {
  CommandError,
  InfrastructureError,
  type Answer,
  type CommandDefinition,
  type ErrorBody,
  type RequestOf,
  type ResponseOf,
} from "@sdn/contracts";
import type { CommandContext } from "./context.js";
import { MalformedMessageError } from "./errors.js";
import type { BusLogger } from "./logger.js";
import { isTransient } from "./transient.js";
import { commandSeconds, commandsHandled, outcomeOf } from "./metrics/bus-metrics.js";
import { assertValid, parseJson } from "./validation.js";

/** What a handler returns: the typed result and a one-line summary for the answer. */
export interface HandlerResult<T> {
  data: T;
  details: string;
}

export type CommandHandler<C extends CommandDefinition> = (
  request: RequestOf<C>,
  ctx: CommandContext,
) => Promise<HandlerResult<ResponseOf<C>>>;

/** A definition bound to its handler; a service registers a list of these. */
export interface BoundHandler {
  readonly definition: CommandDefinition;
  readonly handle: (request: unknown, ctx: CommandContext) => Promise<HandlerResult<unknown>>;
}

export const bindHandler = <C extends CommandDefinition>(definition: C, handle: CommandHandler<C>): BoundHandler => ({
  definition,
  handle: handle as BoundHandler["handle"],
});

export const failure = (commandId: string, error: ErrorBody): Answer<never> => ({
  commandId,
  ok: false,
  details: error.message,
  error,
});

/**
 * Validates, runs and answers one command, and counts it (by name and outcome, with its
 * latency): every command of either tier passes here. Bad input becomes INVALID_COMMAND, a
 * deliberate CommandError keeps its code (an InfrastructureError shows tenants only its
 * tenant message), anything else is INTERNAL with its message kept out of the answer (and
 * logged instead). It throws only a transient bus error (a NATS leader election outlasting
 * the bus's own retries): such a command is redelivered, not failed.
 */
export const dispatch = async (
  bound: BoundHandler | undefined,
  commandName: string,
  data: Uint8Array,
  ctx: CommandContext,
  logger: BusLogger,
): Promise<Answer<unknown>> => {
  const done = commandSeconds.startTimer();
  const answer = await answerOf(bound, commandName, data, ctx, logger);
  // A name no handler has is counted under one label: a sender cannot grow the series.
  const labels = { command: bound === undefined ? "(unknown)" : commandName, outcome: outcomeOf(answer) };
  commandsHandled.inc(labels);
  done(labels);
  return answer;
};

const answerOf = async (
  bound: BoundHandler | undefined,
  commandName: string,
  data: Uint8Array,
  ctx: CommandContext,
  logger: BusLogger,
): Promise<Answer<unknown>> => {
  if (bound === undefined) {
    return failure(ctx.commandId, { code: "INVALID_COMMAND", message: `unknown command '${commandName}'` });
  }
  try {
    const body = assertValid(bound.definition.request, parseJson(data, commandName), commandName);
    const result = await bound.handle(body, ctx);
    return { commandId: ctx.commandId, ok: true, details: result.details, data: result.data };
  } catch (err) {
    if (err instanceof MalformedMessageError) {
      return failure(ctx.commandId, { code: err.code, message: err.message, details: err.details });
    }
    if (err instanceof InfrastructureError && ctx.role !== "admin") {
      logger.warn({ err, command: commandName, commandId: ctx.commandId }, "infrastructure error shown to a tenant");
      return failure(ctx.commandId, {
        code: err.code,
        message: `${err.tenantMessage}; an operator finds the cause logged under command id ${ctx.commandId}`,
      });
    }
    if (err instanceof CommandError) {
      return failure(ctx.commandId, {
        code: err.code,
        message: err.message,
        ...(err.details === undefined ? {} : { details: err.details }),
      });
    }
    if (isTransient(err)) throw err;
    logger.error({ err, command: commandName, commandId: ctx.commandId }, "command handler failed");
    return failure(ctx.commandId, {
      code: "INTERNAL",
      message: `${commandName} failed unexpectedly; the service logged the cause under command id ${ctx.commandId}`,
    });
  }
};
