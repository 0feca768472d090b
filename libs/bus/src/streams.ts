import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, type StreamConfig } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { STREAMS } from "@sdn/contracts";
import { storageOf } from "./storage.js";
import { retryTransient } from "./transient.js";

const seconds = (s: number) => s * 1_000_000_000;

/**
 * Stream settings. The command stream's duplicate window is what makes a resent command
 * id a no-op; answers are kept long enough for a job to be polled after a gateway restart.
 */
const STREAM_CONFIGS: (Partial<StreamConfig> & { name: string })[] = [
  {
    name: STREAMS.commands.name,
    subjects: [...STREAMS.commands.subjects],
    duplicate_window: seconds(15 * 60),
    max_age: seconds(7 * 24 * 3600),
  },
  {
    name: STREAMS.answers.name,
    subjects: [...STREAMS.answers.subjects],
    duplicate_window: seconds(15 * 60),
    max_age: seconds(24 * 3600),
    // One answer per command id: a later one replaces an older one.
    max_msgs_per_subject: 1,
  },
  {
    name: STREAMS.events.name,
    subjects: [...STREAMS.events.subjects],
    duplicate_window: seconds(15 * 60),
    max_age: seconds(30 * 24 * 3600),
  },
  {
    // Bounded by age and size (the oldest records go first); a record is deduplicated by
    // its command id, so a command redelivered after its record was written is not counted twice.
    name: STREAMS.audit.name,
    subjects: [...STREAMS.audit.subjects],
    duplicate_window: seconds(15 * 60),
    max_age: seconds(90 * 24 * 3600),
    max_bytes: 256 * 1024 * 1024,
  },
];

/**
 * Creates the streams, or updates them in place (settings and replica count, so a deployment
 * moved to a cluster gets replicated streams); safe for every replica to run at start.
 */
export const ensureStreams = async (nc: NatsConnection): Promise<void> => {
  const jsm = await jetstreamManager(nc);
  const { replicas } = storageOf(nc);
  for (const settings of STREAM_CONFIGS) {
    const cfg = { ...settings, num_replicas: replicas };
    const name = cfg.name;
    try {
      await retryTransient(() => jsm.streams.info(name));
      await retryTransient(() => jsm.streams.update(name, cfg));
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
      try {
        await retryTransient(() => jsm.streams.add(cfg));
      } catch (addErr) {
        // Another replica created it between our info and add: fine.
        if (!(addErr instanceof JetStreamApiError)) throw addErr;
      }
    }
  }
};
