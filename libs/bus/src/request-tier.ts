import {
  errors,
  headers as natsHeaders,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { HEADERS, type Answer, type CommandDefinition, type RequestOf, type ResponseOf } from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import { commandHeaders, type SendOptions } from "./command-client.js";
import { contextFromHeaders, type CommandContext } from "./context.js";
import { dispatch, failure, type BoundHandler } from "./dispatch.js";
import { checkAnswer } from "./answers.js";
import { CommandTimeoutError, MalformedMessageError, NoResponderError } from "./errors.js";
import type { BusLogger } from "./logger.js";
import { agentRequestSeconds, agentRequests, outcomeOf } from "./metrics/bus-metrics.js";
import { injectTrace, withConsumerSpan } from "./trace.js";
import { isTransient } from "./transient.js";
import { muxedRequest } from "./muxed-request.js";
import { parseJson } from "./validation.js";
import { sameTurn } from "./same-turn.js";

/**
 * The request/reply tier (CloudStack's AgentManager.send): the caller waits, with a
 * timeout, for whichever subscriber answers. Handlers on this tier must be idempotent so
 * the caller may retry; desired state stays with the caller. Counted as an agent request.
 */
export const request = <C extends CommandDefinition>(
  nc: NatsConnection,
  def: C,
  subject: string,
  body: RequestOf<C>,
  opts: SendOptions = {},
): Promise<Answer<ResponseOf<C>>> => {
  const done = agentRequestSeconds.startTimer();
  return roundTrip(nc, def, subject, body, opts, (outcome) => {
    agentRequests.inc({ command: def.name, outcome });
    done({ command: def.name, outcome });
  });
};

/**
 * One request and its answer; `record` hears the outcome (ok, the answer's error code,
 * NO_RESPONDER, TIMEOUT or BUS_ERROR). No responder and no answer in time throw typed errors.
 */
export const roundTrip = async <C extends CommandDefinition>(
  nc: NatsConnection,
  def: C,
  subject: string,
  body: RequestOf<C>,
  opts: SendOptions,
  record: (outcome: string) => void = () => undefined,
): Promise<Answer<ResponseOf<C>>> => {
  const commandId = opts.commandId ?? randomUUID();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  try {
    await sameTurn();
    const reply = await muxedRequest(nc, subject, JSON.stringify(body), {
      timeout: timeoutMs,
      headers: commandHeaders(commandId, opts),
    });
    const answer = checkAnswer(def, parseJson(reply.data, `answer to ${def.name}`));
    record(outcomeOf(answer));
    return answer;
  } catch (err) {
    if (err instanceof errors.RequestError && err.isNoResponders()) {
      record("NO_RESPONDER");
      throw new NoResponderError(def.name, subject);
    }
    if (err instanceof errors.TimeoutError) {
      record("TIMEOUT");
      throw new CommandTimeoutError(def.name, subject, timeoutMs);
    }
    record(err instanceof MalformedMessageError ? "MALFORMED_ANSWER" : "BUS_ERROR");
    throw err;
  }
};

/**
 * Runs one request with the same validation and answers as the durable tier and replies
 * to it. No redelivery here: a storage hiccup is answered UNAVAILABLE, and the caller may
 * retry. Never rejects (a reply that cannot be sent is logged).
 */
export const answerRequest = (
  m: Msg,
  bound: BoundHandler | undefined,
  name: string,
  ctx: CommandContext,
  logger: BusLogger,
  spanAttributes: Record<string, string | number>,
): Promise<void> =>
  withConsumerSpan(
    m.subject,
    m.headers,
    () => ({ "messaging.message.id": ctx.commandId, ...spanAttributes }),
    async () => {
      const answer = await dispatch(bound, name, m.data, ctx, logger).catch((e: unknown) => {
        if (!isTransient(e)) throw e;
        return failure(ctx.commandId, {
          code: "UNAVAILABLE",
          message: `${name} could not reach the controller's state in time (NATS unavailable); retry`,
        });
      });
      m.respond(JSON.stringify(answer), { headers: injectTrace(natsHeaders()) });
    },
  ).catch((e: unknown) => logger.error({ err: e, subject: m.subject }, "could not reply"));

export interface RequestServerOptions {
  /** Subject prefix; the command name is the token after it (`<prefix>.<Command>`). */
  prefix: string;
  handlers: readonly BoundHandler[];
  logger: BusLogger;
  /** Queue group, so that replicas share the subject; omit for one subscriber per subject. */
  queue?: string;
}

/**
 * How long a drain waits for the requests in flight: below the runtime's 15 s shutdown
 * grace, so a stopping service still closes its connection itself.
 */
export const DRAIN_BOUND_MS = 10_000;

/** A running request server; `drain` is how it stops. */
export interface RequestServer {
  /**
   * Takes no new request (the server routes them elsewhere, or answers "no responders"
   * at once), answers every request already delivered, then resolves. Handlers still
   * running after `boundMs` are left behind: their callers will time out.
   */
  drain(boundMs?: number): Promise<void>;
}

/** Serves `<prefix>.*` request/reply commands with the same validation and answers as the durable tier. */
export const serveRequests = (nc: NatsConnection, opts: RequestServerOptions): RequestServer => {
  const byName = new Map(opts.handlers.map((h) => [h.definition.name, h]));
  const inFlight = new Set<Promise<void>>();
  const sub = nc.subscribe(`${opts.prefix}.*`, {
    ...(opts.queue === undefined ? {} : { queue: opts.queue }),
    callback: (err, m) => {
      if (err !== null) {
        opts.logger.warn({ err }, "request subscription error");
        return;
      }
      const name = m.subject.slice(opts.prefix.length + 1);
      const ctx = contextFromHeaders(m.headers, m.headers?.get(HEADERS.commandId) || randomUUID(), 1);
      const handling = answerRequest(
        m,
        byName.get(name),
        name,
        ctx,
        opts.logger,
        opts.queue === undefined ? {} : { "messaging.consumer.group.name": opts.queue },
      );
      inFlight.add(handling);
      void handling.finally(() => inFlight.delete(handling));
    },
  });
  let drained: Promise<void> | undefined;
  return {
    drain: (boundMs = DRAIN_BOUND_MS) => (drained ??= drainServer(sub, inFlight, boundMs, opts)),
  };
};

const drainServer = async (
  sub: Subscription,
  inFlight: ReadonlySet<Promise<void>>,
  boundMs: number,
  opts: RequestServerOptions,
): Promise<void> => {
  const finished = (async () => {
    // Unlike unsubscribe, which drops what is already on its way to this client, a
    // drain still delivers it (one round trip to the server) before it ends.
    await sub.drain().catch(() => undefined);
    await Promise.all([...inFlight]);
    return true;
  })();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), boundMs);
  });
  const done = await Promise.race([finished, bound]);
  clearTimeout(timer);
  if (!done) {
    if (!sub.isClosed()) sub.unsubscribe();
    opts.logger.warn(
      { prefix: opts.prefix, inFlight: inFlight.size, boundMs },
      "requests still running when the drain bound passed: their callers will time out",
    );
  }
};
