import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { HEADERS, STREAMS, maxDeliveriesAdvisorySubject, parseCommandSubject, type Answer } from "@sdn/contracts";
import { contextFromOrigin } from "./context.js";
import { failure } from "./dispatch.js";
import type { ConsumedCommand } from "./audit-recorder.js";
import type { BusLogger } from "./logger.js";

interface MaxDeliveriesAdvisory {
  stream_seq?: number;
  deliveries?: number;
}

export interface MaxDeliveriesOptions {
  service: string;
  logger: BusLogger;
  alreadyAnswered(commandId: string, accountId: string | undefined): Promise<boolean>;
  publishAnswer(answer: Answer<unknown>, accountId: string | undefined): Promise<void>;
  /** Writes the audit record of the given-up command (its definition found by name). */
  record(name: string, command: Omit<ConsumedCommand, "definition">): Promise<void>;
}

/**
 * Answers a command JetStream gave up on (its handler crashed or hung on every delivery)
 * with MAX_DELIVERIES_EXCEEDED, so its job fails instead of staying pending. The advisory
 * is core NATS: one replica of the service (queue group) takes each; if no replica is up
 * at that moment, the command stays unanswered. The answer is audited like any other
 * (errorCode MAX_DELIVERIES_EXCEEDED); since the advisory comes only once, a record that
 * cannot be written is logged and the command answered all the same, rather than leaving
 * its job pending for ever.
 */
export const answerMaxDeliveries = (
  nc: NatsConnection,
  jsm: JetStreamManager,
  opts: MaxDeliveriesOptions,
): Subscription =>
  nc.subscribe(maxDeliveriesAdvisorySubject(opts.service), {
    queue: `${opts.service}-max-deliveries`,
    callback: (err, msg) => {
      if (err !== null) return;
      void (async () => {
        const advisory = msg.json<MaxDeliveriesAdvisory>();
        if (typeof advisory.stream_seq !== "number") return;
        const command = await jsm.streams.getMessage(STREAMS.commands.name, { seq: advisory.stream_seq });
        if (command === null) return;
        const commandId =
          command.header.get(HEADERS.commandId) || command.header.get(HEADERS.natsMsgId) || `seq-${command.seq}`;
        const parsed = parseCommandSubject(opts.service, command.subject);
        if (parsed === undefined) return; // refused as unaddressed when delivered
        // The account as the command's handler saw it: from its subject, or the gateway's header.
        const deliveries = advisory.deliveries ?? 0;
        const ctx = contextFromOrigin(parsed.origin, command.header, commandId, deliveries);
        const { accountId } = ctx;
        if (await opts.alreadyAnswered(commandId, accountId)) return;
        const name = parsed.command;
        opts.logger.error({ command: name, commandId, deliveries }, "command given up after its maximum deliveries");
        const answer = failure(commandId, {
          code: "MAX_DELIVERIES_EXCEEDED",
          message: `${name} was delivered ${deliveries} times and never answered (its handler crashed or hung each time); it will not run again`,
        });
        await opts
          .record(name, { origin: parsed.origin, headers: command.header, ctx, body: command.data, answer })
          .catch((e: unknown) =>
            opts.logger.error({ err: e, command: name, commandId }, "could not audit a given-up command"),
          );
        await opts.publishAnswer(answer, accountId);
      })().catch((e: unknown) => opts.logger.warn({ err: e }, "could not answer a command given up by JetStream"));
    },
  });
