import type { JsonBucket } from "@sdn/bus";

export interface TunnelSetView {
  state: string;
  rows: unknown[];
}

/**
 * Waits until the network has `hosts` tunnel sets, each Established with hosts-1 rows.
 *
 * It follows the bucket (a watch: the last value of each set, then every write) instead of
 * polling it: a poll read every set again through the stream leader (a JetStream API get
 * per set, its 14 kB value base64 inside a JSON reply), which for 200 hosts cost the
 * measured figure more than 100 ms after the last plug had answered. The condition is the
 * same, checked on the newest value of every set after each write.
 */
export const established = async (
  bucket: JsonBucket<TunnelSetView>,
  networkId: string,
  hosts: number,
  timeoutMs: number,
): Promise<void> => {
  const watch = await bucket.kv.watch({ key: `${networkId}.>` });
  const ready = new Set<string>();
  const live = new Set<string>();
  const timer = setTimeout(() => watch.stop(), timeoutMs);
  try {
    for await (const e of watch) {
      const set = e.operation === "PUT" ? e.json<TunnelSetView>() : undefined;
      if (set === undefined) live.delete(e.key);
      else live.add(e.key);
      if (set?.state === "Established" && set.rows.length === hosts - 1) ready.add(e.key);
      else ready.delete(e.key);
      if (live.size >= hosts && ready.size === live.size) return;
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${hosts} hosts' tunnels Established`);
  } finally {
    clearTimeout(timer);
    watch.stop();
  }
};
