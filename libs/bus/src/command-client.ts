import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import {
  AnyAnswer,
  HEADERS,
  STREAMS,
  answerSubject,
  commandSubject,
  requestSubject,
  type Answer,
  type CommandDefinition,
  type CommandOrigin,
  type RequestOf,
  type ResponseOf,
  type Role,
} from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import { answerSchemaOf, unwrapAnswer } from "./answers.js";
import { CommandTimeoutError } from "./errors.js";
import { roundTrip } from "./request-tier.js";
import { injectTrace, withProducerSpan } from "./trace.js";
import { assertValid, parseJson } from "./validation.js";
import { isTransient, retryTransient } from "./transient.js";

export interface SendOptions {
  /** Reuse an id to make a resend a duplicate; a fresh UUID otherwise. */
  commandId?: string;
  accountId?: string;
  role?: Role;
  /** The API token the call came with (the gateway), for the audit trail. */
  tokenId?: string;
  timeoutMs?: number;
}

export interface Published {
  commandId: string;
  /** True when JetStream already held a command with this id: it will not run again. */
  duplicate: boolean;
}

/** The gateway's origin: what a client built without one (tests, tools acting as the gateway) sends as. */
export const GATEWAY_ORIGIN: CommandOrigin = { kind: "principal", name: "api-gateway" };

/**
 * A command's headers. Appended, not set: the headers are new and hold only the trace
 * context, so nats.js's `set` would search them for each key to delete first (issue 18:
 * every request pays these).
 */
export const commandHeaders = (commandId: string, opts: SendOptions): MsgHdrs => {
  const h = injectTrace(natsHeaders());
  h.append(HEADERS.commandId, commandId);
  if (opts.accountId !== undefined) h.append(HEADERS.accountId, opts.accountId);
  h.append(HEADERS.role, opts.role ?? "tenant");
  if (opts.tokenId !== undefined) h.append(HEADERS.tokenId, opts.tokenId);
  return h;
};

/**
 * Sends commands and reads their answers, on the tier the definition names. A
 * request-tier command (a read) is a core NATS request to `sdn.req.<service>.<origin>.<Command>`,
 * answered by one replica; nothing is stored. A durable command's answer subject is subscribed
 * before the command is published, so a fast answer cannot be missed; a command whose id
 * JetStream already holds is answered from the answer stream.
 *
 * `origin` is the namespace the connection's credentials may publish into: a service
 * its own name, an external system `admin` or `account` (then the account is that one,
 * whatever `accountId` a send names).
 */
export class CommandClient {
  private readonly js: JetStreamClient;

  /** Waiters to tell when the connection comes back: an answer sent meanwhile was missed. */
  private readonly onReconnect = new Set<() => void>();

  constructor(
    private readonly nc: NatsConnection,
    readonly origin: CommandOrigin = GATEWAY_ORIGIN,
  ) {
    this.js = jetstream(nc);
    void (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect") for (const waiter of this.onReconnect) waiter();
    })();
  }

  /** The account the answer is filed under: the one the command runs for. */
  private scopeOf(opts: SendOptions): string | undefined {
    return this.origin.kind === "account" ? this.origin.accountId : opts.accountId;
  }

  /** Publishes without waiting for the answer (an async job). */
  async publish<C extends CommandDefinition>(def: C, body: RequestOf<C>, opts: SendOptions = {}): Promise<Published> {
    const commandId = opts.commandId ?? randomUUID();
    const subject = commandSubject(def.service, def.name, this.origin);
    return withProducerSpan(
      subject,
      () => ({ "messaging.message.id": commandId }),
      async () => {
        // The stream drops a resent id, so a publish cut by a leader election is simply sent
        // again; a resend that finds our own first attempt stored is not a duplicate.
        let ambiguous = false;
        const ack = await retryTransient(async () => {
          try {
            return await this.js.publish(subject, JSON.stringify(body), {
              msgID: commandId,
              headers: commandHeaders(commandId, opts),
            });
          } catch (err) {
            if (isTransient(err)) ambiguous = true;
            throw err;
          }
        });
        return { commandId, duplicate: ack.duplicate && !ambiguous };
      },
    );
  }

  /** Publishes and waits for the answer; throws CommandTimeoutError naming command and subject. */
  async send<C extends CommandDefinition>(
    def: C,
    body: RequestOf<C>,
    opts: SendOptions = {},
  ): Promise<Answer<ResponseOf<C>>> {
    const commandId = opts.commandId ?? randomUUID();
    const timeoutMs = opts.timeoutMs ?? 5_000;
    if (def.delivery === "request") return this.ask(def, body, { ...opts, commandId, timeoutMs });
    const waiting = this.awaitAnswer(def, commandId, timeoutMs, this.scopeOf(opts));
    try {
      const { duplicate } = await this.publish(def, body, { ...opts, commandId });
      if (duplicate) {
        const stored = await this.findAnswer(def, commandId, this.scopeOf(opts));
        if (stored !== undefined) return stored;
      }
      return await waiting.answer;
    } finally {
      waiting.cancel();
    }
  }

  /**
   * Sends and returns the answer's data: the one way to call a command and unwrap its
   * answer. An `ok: false` answer throws CommandFailedError with the answer's code, message
   * and details; no answer throws as `send` does.
   */
  async call<C extends CommandDefinition>(def: C, body: RequestOf<C>, opts: SendOptions = {}): Promise<ResponseOf<C>> {
    return unwrapAnswer(def.name, await this.send(def, body, opts));
  }

  /**
   * One request-tier round trip. No answer in time is a CommandTimeoutError as on the
   * durable tier; nothing serving it a NoResponderError (UNAVAILABLE), at once.
   */
  private async ask<C extends CommandDefinition>(
    def: C,
    body: RequestOf<C>,
    opts: SendOptions,
  ): Promise<Answer<ResponseOf<C>>> {
    const subject = requestSubject(def.service, def.name, this.origin);
    // roundTrip checks the answer against its contract.
    return withProducerSpan(
      subject,
      () => ({ "messaging.message.id": opts.commandId ?? "" }),
      () => roundTrip(this.nc, def, subject, body, opts),
    );
  }

  /** Reads a stored answer, e.g. to report on a job after the sender stopped waiting. */
  async findAnswer<C extends CommandDefinition>(
    def: C,
    commandId: string,
    accountId: string | undefined,
  ): Promise<Answer<ResponseOf<C>> | undefined> {
    const data = await this.storedAnswer(def.service, commandId, accountId);
    return data === undefined ? undefined : this.decode(def, data);
  }

  /** Reads a stored answer knowing only the service (e.g. for a job), checked against the envelope only. */
  async findAnyAnswer(
    service: string,
    commandId: string,
    accountId: string | undefined,
  ): Promise<AnyAnswer | undefined> {
    const data = await this.storedAnswer(service, commandId, accountId);
    const what = `answer to command ${commandId}`;
    return data === undefined ? undefined : assertValid(AnyAnswer, parseJson(data, what), what);
  }

  private async storedAnswer(
    service: string,
    commandId: string,
    accountId: string | undefined,
  ): Promise<Uint8Array | undefined> {
    const jsm = await jetstreamManager(this.nc);
    const stored = await jsm.streams
      .getMessage(STREAMS.answers.name, { last_by_subj: answerSubject(service, commandId, accountId) })
      .catch(() => null);
    return stored?.data;
  }

  /** Waits for the answer of a command that is already published. */
  awaitAnswer<C extends CommandDefinition>(
    def: C,
    commandId: string,
    timeoutMs: number,
    accountId: string | undefined,
  ): { answer: Promise<Answer<ResponseOf<C>>>; cancel: () => void } {
    const subject = answerSubject(def.service, commandId, accountId);
    const sub = this.nc.subscribe(subject, { max: 1 });
    let timer: NodeJS.Timeout | undefined;
    let recheck: (() => void) | undefined;
    const answer = new Promise<Answer<ResponseOf<C>>>((resolve, reject) => {
      timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new CommandTimeoutError(def.name, commandSubject(def.service, def.name, this.origin), timeoutMs));
      }, timeoutMs);
      const settle = (data: Uint8Array): void => {
        try {
          resolve(this.decode(def, data));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      void (async () => {
        for await (const m of sub) settle(m.data);
      })();
      // An answer published while we were disconnected never reaches the subscription; the
      // answer stream has it.
      recheck = () =>
        void this.storedAnswer(def.service, commandId, accountId).then(
          (data) => data !== undefined && settle(data),
          () => undefined,
        );
      this.onReconnect.add(recheck);
    });
    // The caller may cancel before awaiting; keep an unobserved rejection from crashing the process.
    answer.catch(() => undefined);
    return {
      answer,
      cancel: () => {
        clearTimeout(timer);
        sub.unsubscribe();
        if (recheck !== undefined) this.onReconnect.delete(recheck);
      },
    };
  }

  private decode<C extends CommandDefinition>(def: C, data: Uint8Array): Answer<ResponseOf<C>> {
    const what = `answer to ${def.name}`;
    return assertValid(answerSchemaOf(def), parseJson(data, what), what) as Answer<ResponseOf<C>>;
  }
}
