/**
 * Counts, per network, the plugs of this replica that are on their way to a mesh pass
 * (received, not yet joined the membership). A pass waits for them, at most `boundMs`, so
 * that a burst of plugs shares one pass and each host of the network gets about one
 * ApplyTunnels for the whole burst instead of one per pass that happened to overlap it.
 * A lone plug never waits: it is no longer counted when it asks for its pass.
 */
export class Arrivals {
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();

  constructor(private readonly boundMs: number) {}

  /** Counts one plug on its way; the returned function (idempotent) says it arrived or gave up. */
  arrive(networkId: string): () => void {
    this.counts.set(networkId, (this.counts.get(networkId) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.counts.get(networkId) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(networkId, left);
        return;
      }
      this.counts.delete(networkId);
      for (const wake of this.waiters.get(networkId) ?? []) wake();
      this.waiters.delete(networkId);
    };
  }

  /** Resolves when no plug of the network is on its way, or after the bound. */
  async settled(networkId: string): Promise<void> {
    if (!this.counts.has(networkId)) return;
    let timer: NodeJS.Timeout | undefined;
    let wake: () => void = () => {};
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.waiters.set(networkId, [...(this.waiters.get(networkId) ?? []), resolve]);
      timer = setTimeout(resolve, this.boundMs);
      timer.unref();
    });
    clearTimeout(timer);
    const rest = (this.waiters.get(networkId) ?? []).filter((w) => w !== wake);
    if (rest.length > 0) this.waiters.set(networkId, rest);
    else this.waiters.delete(networkId);
  }
}
