/** However steadily plugs keep coming, a pass waits at most this many times the quiet bound. */
const LONGEST_WAIT_FACTOR = 8;

interface Waiter {
  wake: () => void;
  /** A plug of the network was received or asked for its pass: the quiet bound counts again from now. */
  progress: () => void;
}

/**
 * Counts, per network, the plugs of this replica that are on their way to a mesh pass
 * (received, not yet joined the membership). A pass waits for them, so that a burst of
 * plugs shares one pass and each host of the network gets about one ApplyTunnels for the
 * whole burst instead of one per pass that happened to overlap it. It waits while the burst
 * moves: until none is on its way, or `quietMs` after the last plug was received or asked
 * for its pass (a plug stuck on a slow guru holds the others no longer than that), and never
 * more than LONGEST_WAIT_FACTOR × `quietMs` in all. A burst that durable delivery spreads
 * over longer than `quietMs` thus still shares one pass. A lone plug never waits: it is no
 * longer counted when it asks for its pass.
 */
export class Arrivals {
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly quietMs: number) {}

  /** Counts one plug on its way; the returned function (idempotent) says it arrived or gave up. */
  arrive(networkId: string): () => void {
    this.counts.set(networkId, (this.counts.get(networkId) ?? 0) + 1);
    this.progress(networkId);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.counts.get(networkId) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(networkId, left);
        this.progress(networkId);
        return;
      }
      this.counts.delete(networkId);
      for (const w of this.waiters.get(networkId) ?? []) w.wake();
      this.waiters.delete(networkId);
    };
  }

  /** Resolves when no plug of the network is on its way, or none moved for the quiet bound. */
  async settled(networkId: string): Promise<void> {
    if (!this.counts.has(networkId)) return;
    let quiet: NodeJS.Timeout | undefined;
    let longest: NodeJS.Timeout | undefined;
    let me: Waiter | undefined;
    await new Promise<void>((resolve) => {
      const restart = () => {
        clearTimeout(quiet);
        quiet = setTimeout(resolve, this.quietMs);
        quiet.unref();
      };
      me = { wake: resolve, progress: restart };
      this.waiters.set(networkId, [...(this.waiters.get(networkId) ?? []), me]);
      restart();
      longest = setTimeout(resolve, this.quietMs * LONGEST_WAIT_FACTOR);
      longest.unref();
    });
    clearTimeout(quiet);
    clearTimeout(longest);
    const rest = (this.waiters.get(networkId) ?? []).filter((w) => w !== me);
    if (rest.length > 0) this.waiters.set(networkId, rest);
    else this.waiters.delete(networkId);
  }

  private progress(networkId: string): void {
    for (const w of this.waiters.get(networkId) ?? []) w.progress();
  }
}
