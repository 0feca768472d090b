import type { JsonBucket } from "@sdn/bus";
import { createHash } from "node:crypto";
import { mergeIntervals, randomFree, type Interval } from "./free-slots.js";
import { conflict, tooMuchContention } from "./guru-errors.js";
import type { KeyClaim } from "./store.js";

/** Probes of hashed keys before listing the claimed ones: enough while the pool is sparse. */
const HASHED_PROBES = 8;
/** Rounds of "list claimed keys, pick a free one" once probing failed (a dense pool or a race). */
const LISTED_ROUNDS = 16;
/** A claim this old whose network does not hold the key was left by an interrupted command. */
const STALE_CLAIM_MS = 60_000;

export interface KeyRange {
  readonly min: number;
  readonly max: number;
}

/** What a pool hands out, for its messages: "GRE key" and its range's settings. */
export interface KeyKind {
  /** E.g. "GRE key", "VNI". */
  readonly noun: string;
  /** The settings bounding the range, e.g. "SDN_GRE_KEY_MIN..SDN_GRE_KEY_MAX". */
  readonly settings: string;
}

/**
 * A pool of network keys: the GRE keys, and (another instance on its own bucket) the
 * VXLAN VNIs. A key is held by creating its KV entry (atomic: two networks can never
 * create the same one) and returned by deleting it. Picking never scans the range: hashed
 * probes find a free key at once in a sparse pool; a dense pool lists the claimed keys
 * (as many as live networks) and picks among the gaps, so exhaustion is exact.
 */
export class KeyPool {
  constructor(
    private readonly claims: JsonBucket<KeyClaim>,
    readonly kind: KeyKind,
    readonly range: KeyRange,
    /** Whether the network currently records this key (to tell a leaked claim from a live one). */
    private readonly networkHolds: (networkId: string, key: number) => Promise<boolean>,
  ) {}

  get size(): number {
    return this.range.max - this.range.min + 1;
  }

  /**
   * Claims a free key for `networkId`. A redelivered command (same `commandId`) adopts the
   * claim it made before it was interrupted instead of leaking it.
   */
  async claim(networkId: string, commandId: string): Promise<number> {
    for (let i = 0; i < Math.min(HASHED_PROBES, this.size); i++) {
      const key = this.probe(networkId, i);
      if (await this.tryClaim(key, networkId, commandId)) return key;
    }
    for (let round = 0; round < LISTED_ROUNDS; round++) {
      const key = randomFree(this.range.min, this.range.max, await this.claimedIntervals());
      if (key === undefined) {
        if ((await this.reclaimLeaked()) > 0) continue;
        throw conflict(
          `the ${this.kind.noun} pool ${this.range.min}..${this.range.max} is exhausted: all ${this.size} ` +
            `${this.kind.noun}s are held by networks; shut one down or widen ${this.kind.settings}`,
          { poolMin: this.range.min, poolMax: this.range.max, held: this.size },
        );
      }
      if (await this.tryClaim(key, networkId, commandId)) return key;
    }
    throw tooMuchContention(`the ${this.kind.noun} pool`);
  }

  /** Returns a key to the pool if `networkId` holds it; a no-op otherwise (idempotent). */
  async release(key: number, networkId: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const held = await this.claims.get(String(key));
      if (held === undefined || held.value.networkId !== networkId) return;
      if (await this.claims.tryDelete(String(key), held.revision)) return;
    }
    throw tooMuchContention(`${this.kind.noun} ${key}`);
  }

  /** Releases a key this command claimed but did not end up using. */
  async releaseOwnClaim(key: number, commandId: string): Promise<void> {
    const held = await this.claims.get(String(key));
    if (held !== undefined && held.value.commandId === commandId)
      await this.claims.tryDelete(String(key), held.revision);
  }

  private probe(networkId: string, i: number): number {
    const digest = createHash("sha256").update(`${networkId}/${i}`).digest();
    return this.range.min + (digest.readUIntBE(0, 6) % this.size);
  }

  private async tryClaim(key: number, networkId: string, commandId: string): Promise<boolean> {
    const claim: KeyClaim = { networkId, commandId, claimedAt: new Date().toISOString() };
    if ((await this.claims.tryCreate(String(key), claim)) !== undefined) return true;
    const held = await this.claims.get(String(key));
    return held?.value.networkId === networkId && held.value.commandId === commandId;
  }

  private async claimedKeys(): Promise<number[]> {
    return (await this.claims.keys())
      .map(Number)
      .filter((k) => Number.isInteger(k) && k >= this.range.min && k <= this.range.max);
  }

  private async claimedIntervals(): Promise<Interval[]> {
    return mergeIntervals(
      this.range.min,
      this.range.max,
      (await this.claimedKeys()).map((k) => [k, k] as const),
    );
  }

  /**
   * Deletes claims left by commands interrupted between claiming a key and recording it
   * on their network. Runs only when the pool looks exhausted, so it may read every claim.
   */
  private async reclaimLeaked(): Promise<number> {
    let reclaimed = 0;
    for (const key of await this.claimedKeys()) {
      const held = await this.claims.get(String(key));
      if (held === undefined) continue;
      const age = Date.now() - Date.parse(held.value.claimedAt);
      if (age < STALE_CLAIM_MS || (await this.networkHolds(held.value.networkId, key))) continue;
      if (await this.claims.tryDelete(String(key), held.revision)) reclaimed++;
    }
    return reclaimed;
  }
}
