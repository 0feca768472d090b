import type { JsonBucket } from "@sdn/bus";
import { waitFor } from "@sdn/testkit";

export interface TunnelSetView {
  state: string;
  rows: unknown[];
}

/** Waits until the network has `hosts` tunnel sets, each Established with hosts-1 rows. */
export const established = async (
  bucket: JsonBucket<TunnelSetView>,
  networkId: string,
  hosts: number,
  timeoutMs: number,
) =>
  waitFor(
    `${hosts} hosts' tunnels Established`,
    async () => {
      const keys = await bucket.keys(`${networkId}.>`);
      if (keys.length < hosts) return undefined;
      const sets = await Promise.all(keys.map((k) => bucket.get(k)));
      return sets.every((s) => s?.value.state === "Established" && s.value.rows.length === hosts - 1)
        ? true
        : undefined;
    },
    timeoutMs,
    20,
  );
