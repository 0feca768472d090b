import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { retryTransient } from "./transient.js";

/**
 * nats-server before 2.9.21 checks a replicated stream's expected last sequence per subject
 * (what a KV update or a conditional delete sends) only before proposing the write to the
 * stream's Raft group, against what the leader has applied so far: writes still in flight
 * are not counted, so several updates expecting the same revision can all be accepted
 * (nats-server#4320; on Debian's 2.9.10 six writers racing on three servers all won, every
 * time). The last one stored wins; the others were overwritten though each was told it won.
 * A create (expected sequence 0) is checked again where the write is applied, and is safe.
 */
const FIXED_IN = [2, 9, 21] as const;

const parsed = new Map<string, boolean>();

/** Whether a server of this version serializes per-subject compare-and-swap on replicated streams. */
export const serializesSubjectCas = (version: string | undefined): boolean => {
  if (version === undefined) return false;
  let known = parsed.get(version);
  if (known === undefined) {
    const parts = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version)?.slice(1).map(Number) ?? [0, 0, 0];
    const at = parts.findIndex((p, i) => p !== FIXED_IN[i]);
    known = at === -1 || (parts[at] as number) > FIXED_IN[at]!;
    parsed.set(version, known);
  }
  return known;
};

/**
 * Makes a bucket's compare-and-swap writes hold on such servers: after a write the server
 * acknowledged, a barrier goes through the stream's Raft log (a purge of a subject no key
 * uses, which removes nothing but is ordered with the writes), so every write proposed
 * before ours was applied has been applied by the time the barrier answers; then the key is
 * read from the leader. Racing writes were all proposed before any of them was applied, so
 * exactly one of them — the last — is still the key's latest entry: that write stands, the
 * others lost the race (as a correct server would have told them at once).
 */
export class CasConfirmation {
  private jsm: Promise<JetStreamManager> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly bucket: string,
    private readonly replicas: number,
    private readonly timeoutMs: number | undefined,
  ) {}

  /** Whether writes to this bucket need confirming now (the connected server may change on reconnect). */
  get needed(): boolean {
    return this.replicas > 1 && !serializesSubjectCas(this.nc.info?.version);
  }

  /** Resolves once every write proposed before the call has been applied by the stream's leader. */
  async barrier(): Promise<void> {
    this.jsm ??= jetstreamManager(this.nc, {
      checkAPI: false,
      ...(this.timeoutMs === undefined ? {} : { timeout: this.timeoutMs }),
    });
    const jsm = await this.jsm;
    await retryTransient(() =>
      jsm.streams.purge(`KV_${this.bucket}`, { filter: `$KV.${this.bucket}._sdn_cas_barrier` }),
    );
  }
}
