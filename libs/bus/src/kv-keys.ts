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
 *
 * The consumer also delivers what is written while it is read, so a listing that read until
 * nothing was pending chased a bucket written to without pause (a test's churn kept one
 * going for 30 s under load). It stops once it has seen every key the leader held when the
 * listing began: each such key still has a message (a rewrite or delete replaces it with a
 * newer one, delivered later), and a key written afterwards need not be listed.
 */
export const listKeys = async (nc: NatsConnection, bucket: string, filter: string): Promise<string[]> => {
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const jsm = await jetstreamManager(nc);
  const newest = await jsm.streams.getMessage(stream, { last_by_subj: `${prefix}${filter}` });
  if (newest === null) return [];
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const held = await jsm.streams.info(stream, { subjects_filter: `${prefix}${filter}` });
    const subjects = Object.keys(held.state.subjects ?? {});
    // Purged meanwhile: nothing is left under the filter.
    if (subjects.length === 0) return [];
    const { keys, lastSeq, complete } = await readKeys(nc, jsm, stream, prefix, filter, subjects);
    // A replica that delivered the newest write but not every key the leader holds (one that
    // rejoined and is catching up) is behind as well: the listing is made again.
    if (complete && lastSeq >= newest.seq) return keys;
  }
  throw new StaleListingError(bucket, filter);
};

/**
 * One listing through a consumer on whichever replica the server picks; `lastSeq` is the
 * newest message it saw, `complete` whether it saw every subject asked for.
 */
const readKeys = async (
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  prefix: string,
  filter: string,
  /** The subjects to see before the listing may end (it ends earlier when nothing is pending). */
  subjects: readonly string[],
): Promise<{ keys: string[]; lastSeq: number; complete: boolean }> => {
  const created = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.LastPerSubject,
    filter_subject: `${prefix}${filter}`,
    headers_only: true,
    mem_storage: true,
    // Removed below; the threshold only cleans up after a caller that died meanwhile.
    inactive_threshold: nanos(60_000),
  });
  try {
    const consumer = await jetstream(nc).consumers.get(stream, created.name);
    const live = new Set<string>();
    const unseen = new Set(subjects);
    let lastSeq = 0;
    let pending = created.num_pending;
    while (pending > 0 && unseen.size > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, BATCH), expires: FETCH_WAIT_MS });
      let received = 0;
      for await (const m of batch) {
        received++;
        lastSeq = Math.max(lastSeq, m.seq);
        const key = m.subject.slice(prefix.length);
        const op = m.headers?.get("KV-Operation");
        if (op === "DEL" || op === "PURGE") live.delete(key);
        else live.add(key);
        unseen.delete(m.subject);
        pending = m.info.pending;
        if (pending === 0 || unseen.size === 0) break;
      }
      // What was pending was deleted before it was delivered: there is nothing more.
      if (received === 0) break;
    }
    return { keys: [...live], lastSeq, complete: unseen.size === 0 };
  } finally {
    await jsm.consumers.delete(stream, created.name).catch(() => undefined);
  }
};
