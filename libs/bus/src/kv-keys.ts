import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";

/** How long one fetch waits for more keys; reached only when keys vanish while they are listed. */
const FETCH_WAIT_MS = 2_000;
const BATCH = 10_000;

/**
 * The live keys of a KV bucket under a subject filter. nats.js's own `kv.keys()` (3.4)
 * can wait forever when keys are written or deleted while it lists them, which stalled
 * its callers for good (the element's reconciliation rounds); this reads the bucket's
 * last message per key through a pull consumer of its own, whose every fetch ends.
 */
export const listKeys = async (nc: NatsConnection, bucket: string, filter: string): Promise<string[]> => {
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const jsm = await jetstreamManager(nc);
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
    let pending = created.num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, BATCH), expires: FETCH_WAIT_MS });
      let received = 0;
      for await (const m of batch) {
        received++;
        const key = m.subject.slice(prefix.length);
        const op = m.headers?.get("KV-Operation");
        if (op === "DEL" || op === "PURGE") live.delete(key);
        else live.add(key);
        pending = m.info.pending;
        if (pending === 0) break;
      }
      // What was pending was deleted before it was delivered: there is nothing more.
      if (received === 0) break;
    }
    return [...live];
  } finally {
    await jsm.consumers.delete(stream, created.name).catch(() => undefined);
  }
};
