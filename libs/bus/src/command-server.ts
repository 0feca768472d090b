import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import {
  HEADERS,
  STREAMS,
  answerSubject,
  commandConsumerName,
  commandFilter,
  parseCommandSubject,
  type Answer,
} from "@sdn/contracts";
import { contextFromOrigin } from "./context.js";
import { dispatch, failure, type BoundHandler } from "./dispatch.js";
import type { BusLogger } from "./logger.js";
import { Semaphore } from "./semaphore.js";
import { retryTransient } from "./transient.js";
import { injectTrace, withConsumerSpan } from "./trace.js";

export interface CommandServerOptions {
  service: string;
  handlers: readonly BoundHandler[];
  logger: BusLogger;
  /** Commands handled at once by this replica. */
  concurrency?: number;
  /** How long a command may run before JetStream redelivers it to another replica. */
  ackWaitMs?: number;
  /** Deliveries before a command is given up (a handler that crashes the process each time). */
  maxDeliver?: number;
}

const ms = (n: number) => n * 1_000_000;

/**
 * The durable command tier: a JetStream pull consumer shared by every replica of a
 * service. Each command is validated, handled, answered on its answer subject and only
 * then acknowledged, so a replica that dies mid-command leaves it to be redelivered.
 */
export class CommandServer {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly byName: Map<string, BoundHandler>;
  private readonly slots: Semaphore;
  private readonly js: JetStreamClient;
  private readonly ackWaitMs: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: CommandServerOptions,
  ) {
    this.byName = new Map(opts.handlers.map((h) => [h.definition.name, h]));
    this.slots = new Semaphore(opts.concurrency ?? 64);
    this.js = jetstream(nc);
    // Short: a handler in progress extends it (working()), so it only bounds how long a
    // command pulled by a replica that then stopped or died waits before another takes it.
    this.ackWaitMs = opts.ackWaitMs ?? 10_000;
  }

  async start(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const durable = commandConsumerName(this.opts.service);
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: commandFilter(this.opts.service),
      ack_wait: ms(this.ackWaitMs),
      max_deliver: this.opts.maxDeliver ?? 5,
      max_ack_pending: 4096,
    };
    await jsm.consumers.add(STREAMS.commands.name, config).catch(async () => {
      // It exists with other settings (an older version): bring it to ours.
      const { durable_name: _name, filter_subject: _f, ...update } = config;
      await jsm.consumers.update(STREAMS.commands.name, durable, update);
    });
    const consumer = await this.js.consumers.get(STREAMS.commands.name, durable);
    this.messages = await consumer.consume({ max_messages: (this.opts.concurrency ?? 64) * 2 });
    const messages = this.messages;
    this.loop = (async () => {
      for await (const m of messages) {
        await this.slots.acquire();
        void this.handle(m).finally(() => this.slots.release());
      }
    })();
  }

  /** Stops taking commands and waits for the ones in hand to be answered. */
  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
    await this.slots.idle();
  }

  private commandIdOf(m: JsMsg): string {
    return m.headers?.get(HEADERS.commandId) || m.headers?.get(HEADERS.natsMsgId) || `seq-${m.seq}`;
  }

  private async handle(m: JsMsg): Promise<void> {
    const parsed = parseCommandSubject(this.opts.service, m.subject);
    const commandId = this.commandIdOf(m);
    if (parsed === undefined) return this.refuseUnaddressed(m, commandId);
    const commandName = parsed.command;
    const ctx = contextFromOrigin(parsed.origin, m.headers, commandId, m.info.deliveryCount);
    const heartbeat = setInterval(() => m.working(), Math.max(1_000, this.ackWaitMs / 3));
    try {
      await withConsumerSpan(
        m.subject,
        m.headers,
        {
          "messaging.message.id": commandId,
          "messaging.consumer.group.name": commandConsumerName(this.opts.service),
        },
        async () => {
          if (m.info.redelivered && (await this.alreadyAnswered(commandId, ctx.accountId))) return;
          const answer = await dispatch(this.byName.get(commandName), commandName, m.data, ctx, this.opts.logger);
          await this.publishAnswer(answer, ctx.accountId);
          this.opts.logger.debug({ command: commandName, commandId, ok: answer.ok }, "command answered");
        },
      );
      m.ack();
    } catch (err) {
      // The answer could not be published (NATS away): let JetStream redeliver it.
      this.opts.logger.warn({ err, command: commandName, commandId }, "command not answered; will be redelivered");
      m.nak(1_000);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * A subject without a known origin (an old client, or a hand-made publish on a server
   * without permissions): answered as a failure, never run, since no one vouches for it.
   */
  private async refuseUnaddressed(m: JsMsg, commandId: string): Promise<void> {
    const answer = failure(commandId, {
      code: "INVALID_COMMAND",
      message: `${m.subject} is not a command subject: use sdn.cmd.<service>.<origin>.<Command>`,
    });
    try {
      await this.publishAnswer(answer, undefined);
      m.ack();
    } catch {
      m.nak(1_000);
    }
  }

  /** The answer is filed under the command's account; the header lets event streams show it too. */
  private async publishAnswer(answer: Answer<unknown>, accountId: string | undefined): Promise<void> {
    const h = injectTrace(natsHeaders());
    h.set(HEADERS.commandId, answer.commandId);
    if (accountId !== undefined) h.set(HEADERS.accountId, accountId);
    // Deduplicated by its id, so a publish cut by a leader election is simply sent again.
    await retryTransient(() =>
      this.js.publish(answerSubject(this.opts.service, answer.commandId, accountId), JSON.stringify(answer), {
        msgID: `answer-${answer.commandId}`,
        headers: h,
      }),
    );
  }

  /** A redelivered command whose answer is already out was finished by a replica that died before acking. */
  private async alreadyAnswered(commandId: string, accountId: string | undefined): Promise<boolean> {
    const jsm = await jetstreamManager(this.nc);
    const found = await jsm.streams
      .getMessage(STREAMS.answers.name, { last_by_subj: answerSubject(this.opts.service, commandId, accountId) })
      .catch(() => null);
    return found !== null;
  }
}
