import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { StaleListingError } from "./errors.js";

/** How long one fetch waits for more keys; reached only when keys vanish while they are listed. */
const FETCH_WAIT_MS = 2_000;
const BATCH = 10_000;
/** Listings tried before giving up on replicas that lag (each lands on a replica at random). */
const ATTEMPTS = 6;

/**
 * The live keys of a KV bucket under a subject filter, as of the moment of the call: every
 * write acknowledged before it is counted.
 *
 * nats.js's own `kv.keys()` (3.4) can wait forever when keys are written or deleted while it
 * lists them, which stalled its callers for good (the element's reconciliation rounds); this
 * reads the bucket's last message per key through a pull consumer of its own, whose every
 * fetch ends. The server places that consumer on any replica of the stream, and a follower
 * may not have applied the newest writes yet (nats-server 2.9 keeps a restarted follower
 * behind until the next write: a listing of 900 addresses came back with 899). So the
 * listing must reach the sequence of the newest write under the filter, asked of the stream
 * leader first, or it is made again, elsewhere.
 */
export const listKeys = async (nc: NatsConnection, bucket: string, filter: string): Promise<string[]> => [
  ...(await listLatest(nc, bucket, filter, false)).keys(),
];

/**
 * The live entries (value bytes and revision) under a subject filter, as of the moment of
 * the call, in one consumer pass instead of a get per key: what `listKeys` guarantees,
 * with the data. For buckets of a few dozen documents per filter read on a hot path.
 */
export const listEntries = (
  nc: NatsConnection,
  bucket: string,
  filter: string,
): Promise<Map<string, { data: Uint8Array; revision: number }>> => listLatest(nc, bucket, filter, true);

const listLatest = async (
  nc: NatsConnection,
  bucket: string,
  filter: string,
  withData: boolean,
): Promise<Map<string, { data: Uint8Array; revision: number }>> => {
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const jsm = await jetstreamManager(nc);
  const newest = await jsm.streams.getMessage(stream, { last_by_subj: `${prefix}${filter}` });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const { live, lastSeq } = await readLatest(nc, jsm, stream, prefix, filter, withData);
    if (lastSeq >= (newest?.seq ?? 0)) return live;
  }
  throw new StaleListingError(bucket, filter);
};

/** One listing through a consumer on whichever replica the server picks; `lastSeq` is the newest message it saw. */
const readLatest = async (
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  prefix: string,
  filter: string,
  withData: boolean,
): Promise<{ live: Map<string, { data: Uint8Array; revision: number }>; lastSeq: number }> => {
  const created = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.LastPerSubject,
    filter_subject: `${prefix}${filter}`,
    headers_only: !withData,
    mem_storage: true,
    // Removed below; the threshold only cleans up after a caller that died meanwhile.
    inactive_threshold: nanos(60_000),
  });
  try {
    const consumer = await jetstream(nc).consumers.get(stream, created.name);
    const live = new Map<string, { data: Uint8Array; revision: number }>();
    let lastSeq = 0;
    let pending = created.num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, BATCH), expires: FETCH_WAIT_MS });
      let received = 0;
      for await (const m of batch) {
        received++;
        lastSeq = Math.max(lastSeq, m.seq);
        const key = m.subject.slice(prefix.length);
        const op = m.headers?.get("KV-Operation");
        if (op === "DEL" || op === "PURGE") live.delete(key);
        else live.set(key, { data: m.data, revision: m.seq });
        pending = m.info.pending;
        if (pending === 0) break;
      }
      // What was pending was deleted before it was delivered: there is nothing more.
      if (received === 0) break;
    }
    return { live, lastSeq };
  } finally {
    await jsm.consumers.delete(stream, created.name).catch(() => undefined);
  }
};
