import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Answer } from "@sdn/contracts";
import { metrics } from "./registry.js";

/** The outcome label of an answer: "ok", or its error code (a closed set: no label explosion). */
export const outcomeOf = (answer: Answer<unknown>): string => (answer.ok ? "ok" : answer.error.code);

/** Every command a service handles, on either tier (recorded in dispatch). */
export const commandsHandled = metrics.counter(
  "sdn_commands_total",
  "Commands handled by this process, by command and outcome (ok or the answer's error code)",
  ["command", "outcome"],
);
export const commandSeconds = metrics.histogram(
  "sdn_command_duration_seconds",
  "Time from a command's delivery to its answer (validation and handler), by command and outcome",
  ["command", "outcome"],
);

/** One command's figures in the shape of a NATS micro endpoint's stats (times in nanoseconds). */
export interface CommandStats {
  num_requests: number;
  num_errors: number;
  processing_time: number;
  average_processing_time: number;
}

/** The commands this process handled, per command, as `$SRV.STATS` shows them in `data.commands`. */
export const commandStats = (): Record<string, CommandStats> => {
  const out: Record<string, CommandStats> = {};
  for (const { labels, count, sum } of commandSeconds.totals()) {
    const name = labels["command"] ?? "";
    const s = (out[name] ??= { num_requests: 0, num_errors: 0, processing_time: 0, average_processing_time: 0 });
    s.num_requests += count;
    if (labels["outcome"] !== "ok") s.num_errors += count;
    s.processing_time += Math.round(sum * 1e9);
    s.average_processing_time = Math.round(s.processing_time / s.num_requests);
  }
  return out;
};

/** Calls this process made to hypervisor agents (the request/reply tier). */
export const agentRequests = metrics.counter(
  "sdn_agent_requests_total",
  "Requests to hypervisor agents, by command and outcome (ok, the error code, TIMEOUT, NO_RESPONDER, BUS_ERROR)",
  ["command", "outcome"],
);
export const agentRequestSeconds = metrics.histogram(
  "sdn_agent_request_duration_seconds",
  "Round trip of a request to a hypervisor agent, by command and outcome",
  ["command", "outcome"],
);

const pending = metrics.gauge(
  "sdn_consumer_pending_messages",
  "Messages of the stream not yet delivered to the consumer (num_pending): commands waiting",
  ["stream", "consumer"],
);
const ackPending = metrics.gauge(
  "sdn_consumer_ack_pending_messages",
  "Messages delivered and not yet acknowledged (num_ack_pending): commands in progress",
  ["stream", "consumer"],
);
const redelivered = metrics.gauge(
  "sdn_consumer_redelivered_messages",
  "Messages delivered more than once and still unacknowledged (num_redelivered)",
  ["stream", "consumer"],
);

/**
 * Reads a durable consumer's lag from JetStream at every scrape; returns what stops it.
 * Every replica reports the same consumer: aggregate with max(), not sum().
 */
export const collectConsumerLag = (nc: NatsConnection, stream: string, consumer: string): (() => void) => {
  const labels = { stream, consumer };
  let info: Promise<{ num_pending: number; num_ack_pending: number; num_redelivered: number }> | undefined;
  // One consumer info per scrape for the three gauges: the first asks, the others share it.
  const read = () => {
    info ??= jetstreamManager(nc)
      .then((jsm) => jsm.consumers.info(stream, consumer))
      .finally(() => setImmediate(() => (info = undefined)));
    return info;
  };
  const stops = [
    pending.collect(async () => [{ labels, value: (await read()).num_pending }]),
    ackPending.collect(async () => [{ labels, value: (await read()).num_ack_pending }]),
    redelivered.collect(async () => [{ labels, value: (await read()).num_redelivered }]),
  ];
  return () => stops.forEach((stop) => stop());
};
