import { type RowChange, driftedNetworks } from "@sdn/ovsdb";

/** Quiet time after the last drifted change before it is reported (one `del-br` is many row changes). */
export const DRIFT_DEBOUNCE_MS = 50;
/** A burst of drift is reported at the latest this long after its first change. */
const DRIFT_MAX_DELAY_MS = 500;

/** Told which networks of a host drifted; the agent publishes OvsDriftDetected. */
export type DriftListener = (networkIds: string[]) => void;

/**
 * Turns a host's monitor updates into debounced drift reports. Changes that arrive while
 * the agent itself changes the host (a command in progress: its own transaction, or the
 * host program's `ovs-vsctl`) are the agent's and not reported; a stranger's change in
 * that window is left to the element's periodic pass.
 */
export class DriftWatch {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;
  private busy = 0;

  constructor(private readonly listener: DriftListener) {}

  /** Runs one of the agent's own changes; what the monitor sees meanwhile is not drift. */
  async own<T>(change: () => Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await change();
    } finally {
      this.busy--;
    }
  }

  observe(changes: readonly RowChange[]): void {
    if (this.busy > 0) return;
    const networks = driftedNetworks(changes);
    if (networks.length === 0) return;
    if (this.pending.size === 0) this.firstAt = Date.now();
    for (const n of networks) this.pending.add(n);
    clearTimeout(this.timer);
    const wait = Math.min(DRIFT_DEBOUNCE_MS, Math.max(0, this.firstAt + DRIFT_MAX_DELAY_MS - Date.now()));
    this.timer = setTimeout(() => this.flush(), wait);
  }

  close(): void {
    clearTimeout(this.timer);
    this.pending.clear();
  }

  private flush(): void {
    const networks = [...this.pending].sort();
    this.pending.clear();
    if (networks.length > 0) this.listener(networks);
  }
}
