import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { STREAMS, commandConsumerName, commandFilter } from "@sdn/contracts";

/** How far back a consumer made anew looks for commands: under the answers' 24 h retention. */
export const REPLAY_HORIZON_MS = 23 * 3600_000;
/** Server clocks of a cluster may differ this much: messages this close to a consumer's birth are checked. */
const CLOCK_SKEW_MS = 2_000;

const ms = (n: number) => n * 1_000_000;

export interface ConsumerSettings {
  ackWaitMs: number;
  maxDeliver: number;
}

export interface ConsumerHealth {
  ok: boolean;
  detail: string;
}

const isConsumerNotFound = (err: unknown): boolean =>
  err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound;

/**
 * A service's durable command consumer, and what this replica knows about it: when it was
 * created (a command published before that may have run on an earlier consumer) and how
 * far its acknowledgements reached (where a consumer made anew must start).
 */
export class CommandConsumer {
  readonly name: string;
  /** Epoch ms of the consumer's creation; Infinity while unknown, so that every delivery is checked. */
  private createdMs = Number.POSITIVE_INFINITY;
  private ackFloor: number | undefined;
  /**
   * The commands stream's last sequence, read once the consumer born at `birthMs` was seen
   * to exist: every command stored after it was published while that consumer existed, so
   * only that consumer can have delivered it, and a second delivery says so (redelivered).
   */
  private seenAt: { birthMs: number; lastSeq: number } | undefined;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly service: string,
    private readonly settings: ConsumerSettings,
  ) {
    this.name = commandConsumerName(service);
  }

  /**
   * Makes sure the consumer exists. A missing one is created starting after the last
   * acknowledged command this replica saw, or else REPLAY_HORIZON_MS back, never from the
   * stream's beginning: old commands are not replayed, and those it does see again are
   * checked against their answers (mayHaveRun).
   */
  async ensure(): Promise<{ created: boolean }> {
    const existing = await this.info();
    if (existing !== undefined) {
      await this.align(existing);
      await this.markSeen();
      return { created: false };
    }
    const start =
      this.ackFloor !== undefined
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.ackFloor + 1 }
        : {
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: new Date(Date.now() - REPLAY_HORIZON_MS).toISOString(),
          };
    try {
      this.remember(await this.jsm.consumers.add(STREAMS.commands.name, { ...this.config(), ...start }));
      await this.markSeen();
      return { created: true };
    } catch (err) {
      // Another replica created it at the same moment (perhaps from another start): use theirs.
      const theirs = await this.info();
      if (theirs === undefined) throw err;
      this.remember(theirs);
      await this.markSeen();
      return { created: false };
    }
  }

  /** Reads the stream's last sequence now that the consumer is known to exist (see seenAt). */
  private async markSeen(): Promise<void> {
    const birthMs = this.createdMs;
    const { state } = await this.jsm.streams.info(STREAMS.commands.name);
    this.seenAt = { birthMs, lastSeq: state.last_seq };
  }

  /** Reads the consumer (undefined when it is missing) and remembers its birth and ack floor. */
  async info(): Promise<ConsumerInfo | undefined> {
    try {
      const info = await this.jsm.consumers.info(STREAMS.commands.name, this.name);
      this.remember(info);
      return info;
    } catch (err) {
      if (isConsumerNotFound(err)) {
        this.createdMs = Number.POSITIVE_INFINITY;
        return undefined;
      }
      throw err;
    }
  }

  /** Liveness of the command path, for the Health endpoint: a missing consumer means no command is delivered. */
  async health(): Promise<ConsumerHealth> {
    try {
      const info = await this.info();
      if (info === undefined) {
        return {
          ok: false,
          detail: `durable consumer ${this.name} on ${STREAMS.commands.name} is missing: no command is delivered until it is recreated`,
        };
      }
      return {
        ok: true,
        detail: `consumer ${this.name}: ${info.num_pending} pending, ${info.num_ack_pending} in hand`,
      };
    } catch (err) {
      return { ok: false, detail: `cannot read consumer ${this.name}: ${(err as Error).message}` };
    }
  }

  /** The consumer went away under this replica: check every delivery until its info is read again. */
  forgetBirth(): void {
    this.createdMs = Number.POSITIVE_INFINITY;
  }

  /**
   * Whether a delivery may already have been handled: redelivered, or published before
   * this consumer existed (an earlier consumer may have run it). Only those cost a lookup.
   * A command stored after the consumer was seen to exist (seenAt, while it is still the
   * same consumer) is not such a one, however close to the consumer's birth its timestamp
   * is: without the sequence, every command of a service's first seconds paid a lookup of
   * its answer (issue 18: 200 JetStream reads in a burst of plugs after a start).
   */
  mayHaveRun(m: JsMsg): boolean {
    if (m.info.redelivered) return true;
    const seen = this.seenAt;
    if (seen !== undefined && seen.birthMs === this.createdMs && m.info.streamSequence > seen.lastSeq) return false;
    return Number(m.info.timestampNanos) / 1e6 <= this.createdMs + CLOCK_SKEW_MS;
  }

  private remember(info: ConsumerInfo): void {
    this.createdMs = Date.parse(info.created);
    this.ackFloor = Math.max(this.ackFloor ?? 0, info.ack_floor.stream_seq);
  }

  private config(): Partial<ConsumerConfig> & { durable_name: string } {
    return {
      durable_name: this.name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: commandFilter(this.service),
      ack_wait: ms(this.settings.ackWaitMs),
      max_deliver: this.settings.maxDeliver,
      max_ack_pending: 4096,
    };
  }

  /** An existing consumer with other settings (an older version) is brought to ours; where it starts stays. */
  private async align(info: ConsumerInfo): Promise<void> {
    const want = this.config();
    const c = info.config;
    if (
      c.ack_wait === want.ack_wait &&
      c.max_deliver === want.max_deliver &&
      c.max_ack_pending === want.max_ack_pending
    )
      return;
    const { durable_name: _name, filter_subject: _f, ack_policy: _p, ...update } = want;
    this.remember(await this.jsm.consumers.update(STREAMS.commands.name, this.name, update));
  }
}
