import type { Principal } from "../auth/principal.js";
import { HttpError } from "../http-errors.js";

export interface EventStreamLimits {
  /** Open streams one account may hold on this gateway. */
  perAccount: number;
  /** Open streams on this gateway, all accounts together (each holds a socket and two subscriptions). */
  total: number;
  /** Bytes that may wait for a slow reader before its stream is cut. */
  bufferBytes: number;
}

/** setTimeout's longest delay (about 24.8 days); a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `end` when the ISO time `at` has come; returns what cancels it. */
const atTime = (at: string, end: () => void): (() => void) => {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = Date.parse(at) - Date.now();
    timer = setTimeout(() => (left > MAX_TIMER_MS ? arm() : end()), Math.max(0, Math.min(left, MAX_TIMER_MS)));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
};

/**
 * The open event streams of this gateway: admits a stream within the account's cap and
 * the gateway's, and ends every stream of a token when the token is revoked or expires.
 */
export class EventStreams {
  private readonly perAccount = new Map<string, number>();
  private readonly byToken = new Map<string, Set<() => void>>();
  private total = 0;

  constructor(readonly limits: EventStreamLimits) {}

  /**
   * Admits a stream or throws (429 at the account's cap, 503 at the gateway's); `end` is
   * called, with the reason, if the token is revoked or expires. Returns what the caller
   * calls once the stream is gone.
   */
  admit(principal: Principal, end: (reason: string) => void): () => void {
    const mine = this.perAccount.get(principal.accountId) ?? 0;
    if (mine >= this.limits.perAccount) {
      throw new HttpError(
        "RATE_LIMITED",
        `at most ${this.limits.perAccount} event streams per account may be open; close one first`,
        { limit: "eventStreamsPerAccount", max: this.limits.perAccount },
      );
    }
    if (this.total >= this.limits.total) {
      throw new HttpError("UNAVAILABLE", "too many event streams are open on this gateway; retry later");
    }
    this.perAccount.set(principal.accountId, mine + 1);
    this.total++;
    const ends = this.byToken.get(principal.tokenId) ?? new Set();
    const revoked = () => end("the token was revoked");
    ends.add(revoked);
    this.byToken.set(principal.tokenId, ends);
    const expiry =
      principal.expiresAt === undefined ? undefined : atTime(principal.expiresAt, () => end("the token expired"));
    let gone = false;
    return () => {
      if (gone) return;
      gone = true;
      expiry?.();
      this.total--;
      const left = (this.perAccount.get(principal.accountId) ?? 1) - 1;
      if (left === 0) this.perAccount.delete(principal.accountId);
      else this.perAccount.set(principal.accountId, left);
      ends.delete(revoked);
      if (ends.size === 0) this.byToken.delete(principal.tokenId);
    };
  }

  /** Ends every open stream authenticated with the token. */
  revoked(tokenId: string): void {
    for (const end of [...(this.byToken.get(tokenId) ?? [])]) end();
  }
}
