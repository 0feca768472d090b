import {
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { HEADERS, STREAMS, answerSubject, commandConsumerName, parseCommandSubject, type Answer } from "@sdn/contracts";
import { AuditRecorder } from "./audit-recorder.js";
import { CommandConsumer, type ConsumerHealth } from "./command-consumer.js";
import { contextFromOrigin } from "./context.js";
import { dispatch, failure, type BoundHandler } from "./dispatch.js";
import type { BusLogger } from "./logger.js";
import { answerMaxDeliveries } from "./max-deliveries.js";
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
  /** Deliveries before a command is given up and answered MAX_DELIVERIES_EXCEEDED. */
  maxDeliver?: number;
  /** How often the replica checks that its consumer exists (and recreates it when not). */
  consumerCheckMs?: number;
  /**
   * How long a handler keeps its command: past it the replica stops extending the ack
   * deadline, so a hung handler's command goes to another replica, and in the end to
   * MAX_DELIVERIES_EXCEEDED, instead of staying in hand for ever.
   */
  maxHandleMs?: number;
}

/**
 * The durable command tier: a JetStream pull consumer shared by every replica of a
 * service. Each command is validated, handled, answered on its answer subject and only
 * then acknowledged, so a replica that dies mid-command leaves it to be redelivered.
 * Every command id is handled once: a delivery that may have run before (redelivered, or
 * older than the consumer) is skipped when its answer exists.
 */
export class CommandServer {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly byName: Map<string, BoundHandler>;
  private readonly slots: Semaphore;
  private readonly js: JetStreamClient;
  private readonly audit: AuditRecorder;
  private readonly ackWaitMs: number;
  private jsm: JetStreamManager | undefined;
  private consumer: CommandConsumer | undefined;
  private advisories: Subscription | undefined;
  private monitor: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: CommandServerOptions,
  ) {
    this.byName = new Map(opts.handlers.map((h) => [h.definition.name, h]));
    this.slots = new Semaphore(opts.concurrency ?? 64);
    this.js = jetstream(nc);
    this.audit = new AuditRecorder(nc, opts.service);
    // Short: a handler in progress extends it (working()), so it only bounds how long a
    // command pulled by a replica that then stopped or died waits before another takes it.
    this.ackWaitMs = opts.ackWaitMs ?? 10_000;
  }

  async start(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    this.jsm = jsm;
    this.consumer = new CommandConsumer(jsm, this.opts.service, {
      ackWaitMs: this.ackWaitMs,
      maxDeliver: this.opts.maxDeliver ?? 5,
    });
    // A JetStream API call may time out while a cluster is busy or electing (a service
    // starting beside others on a loaded cluster): both steps are safe to repeat.
    const consumer = this.consumer;
    await retryTransient(() => consumer.ensure());
    this.advisories = answerMaxDeliveries(this.nc, jsm, {
      service: this.opts.service,
      logger: this.opts.logger,
      alreadyAnswered: (id, accountId) => this.alreadyAnswered(id, accountId),
      publishAnswer: (answer, accountId) => this.publishAnswer(answer, accountId),
      record: (name, command) => this.audit.record({ ...command, definition: this.byName.get(name)?.definition }),
    });
    await retryTransient(() => this.consume());
    this.monitor = setInterval(() => void this.checkConsumer(), this.opts.consumerCheckMs ?? 5_000);
  }

  /** Stops taking commands and waits for the ones in hand to be answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.monitor);
    await this.checking;
    this.advisories?.unsubscribe();
    await this.messages?.close();
    await this.loop;
    await this.slots.idle();
  }

  /** Whether commands reach this service: its durable consumer exists. */
  health(): Promise<ConsumerHealth> {
    return this.consumer?.health() ?? Promise.resolve({ ok: false, detail: "the command consumer is not started" });
  }

  /** Finds a missing consumer and makes it anew (without replay, see CommandConsumer.ensure); then consumes again. */
  private checkConsumer(): Promise<void> {
    this.checking ??= (async () => {
      const consumer = this.consumer as CommandConsumer;
      try {
        if ((await consumer.info()) !== undefined || this.stopped) return;
        this.opts.logger.warn({ consumer: consumer.name }, "command consumer missing: recreating it");
        await this.messages?.close();
        await this.loop;
        await consumer.ensure();
        if (!this.stopped) await this.consume();
      } catch (err) {
        this.opts.logger.warn({ err, consumer: consumer.name }, "cannot check the command consumer");
      }
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async consume(): Promise<void> {
    const consumer = this.consumer as CommandConsumer;
    const messages = await (
      await this.js.consumers.get(STREAMS.commands.name, consumer.name)
    ).consume({
      max_messages: (this.opts.concurrency ?? 64) * 2,
      // After a reconnect nats.js asks for the consumer's info before it pulls again, and
      // when that fails (the consumer's leader is being re-elected after a node died) waits
      // `expires` (30 s by default) before the next try: a replica took no command for
      // ~40 s. Bound, it pulls again at once; a pull lost in the election is re-sent after two
      // missed heartbeats (`expires`, so an idle replica pulls every 2 s); a deleted consumer
      // is found by checkConsumer.
      bind: true,
      expires: 2_000,
    });
    this.messages = messages;
    void (async () => {
      for await (const s of messages.status()) {
        // A consumer deleted under us may come back as a new one: check deliveries until its birth is read.
        if (s.type === "consumer_deleted" || s.type === "consumer_not_found") consumer.forgetBirth();
      }
    })();
    this.loop = (async () => {
      for await (const m of messages) {
        await this.slots.acquire();
        void this.handle(m).finally(() => this.slots.release());
      }
    })();
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
    const bound = setTimeout(
      () => {
        clearInterval(heartbeat);
        this.opts.logger.warn({ command: commandName, commandId }, "command handler still running: letting it go");
      },
      this.opts.maxHandleMs ?? 15 * 60_000,
    );
    try {
      await withConsumerSpan(
        m.subject,
        m.headers,
        () => ({
          "messaging.message.id": commandId,
          "messaging.consumer.group.name": commandConsumerName(this.opts.service),
        }),
        async () => {
          if (this.consumer?.mayHaveRun(m) === true && (await this.alreadyAnswered(commandId, ctx.accountId))) return;
          const handler = this.byName.get(commandName);
          const answer = await dispatch(handler, commandName, m.data, ctx, this.opts.logger);
          await this.audit.record({
            definition: handler?.definition,
            origin: parsed.origin,
            headers: m.headers,
            ctx,
            body: m.data,
            answer,
          });
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
      clearTimeout(bound);
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

  /** A command whose answer is out was finished (by a replica that died before acking, or an earlier consumer). */
  private async alreadyAnswered(commandId: string, accountId: string | undefined): Promise<boolean> {
    const found = await (this.jsm as JetStreamManager).streams
      .getMessage(STREAMS.answers.name, { last_by_subj: answerSubject(this.opts.service, commandId, accountId) })
      .catch(() => null);
    return found !== null;
  }
}
