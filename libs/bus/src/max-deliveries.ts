import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { HEADERS, STREAMS, maxDeliveriesAdvisorySubject, parseCommandSubject, type Answer } from "@sdn/contracts";
import { contextFromOrigin } from "./context.js";
import { failure } from "./dispatch.js";
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
}

/**
 * Answers a command JetStream gave up on (its handler crashed or hung on every delivery)
 * with MAX_DELIVERIES_EXCEEDED, so its job fails instead of staying pending. The advisory
 * is core NATS: one replica of the service (queue group) takes each; if no replica is up
 * at that moment, the command stays unanswered.
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
        const { accountId } = contextFromOrigin(parsed.origin, command.header, commandId, 1);
        if (await opts.alreadyAnswered(commandId, accountId)) return;
        const name = parsed.command;
        const deliveries = advisory.deliveries ?? 0;
        opts.logger.error({ command: name, commandId, deliveries }, "command given up after its maximum deliveries");
        await opts.publishAnswer(
          failure(commandId, {
            code: "MAX_DELIVERIES_EXCEEDED",
            message: `${name} was delivered ${deliveries} times and never answered (its handler crashed or hung each time); it will not run again`,
          }),
          accountId,
        );
      })().catch((e: unknown) => opts.logger.warn({ err: e }, "could not answer a command given up by JetStream"));
    },
  });
