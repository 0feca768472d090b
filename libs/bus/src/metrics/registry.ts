/**
 * Prometheus metrics: counters, gauges and histograms in a registry, exposed in the text
 * format 0.0.4 (what every Prometheus scrapes). Written here rather than taken from
 * prom-client because we need only these three types and the exposition, and the bus
 * records into it on every command.
 */

export type Labels = Readonly<Record<string, string>>;

/** A gauge sample read at scrape time (from KV, from JetStream). */
export interface Sample {
  labels: Labels;
  value: number;
}

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Seconds, from 1 ms to 1 min: bus commands, agent calls, router pushes. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

const number = (v: number): string => {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
};

const labelText = (labels: readonly (readonly [string, string])[]): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;

abstract class Metric {
  protected readonly series = new Map<string, { labels: [string, string][]; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!NAME.test(name)) throw new Error(`bad metric name '${name}'`);
    for (const l of labelNames) if (!LABEL.test(l) || l === "le") throw new Error(`bad label name '${l}' of ${name}`);
  }

  abstract readonly type: "counter" | "gauge" | "histogram";

  /** The labels in declared order; a missing one is "", an undeclared one is a bug. */
  protected ordered(labels: Labels): [string, string][] {
    this.keyOf(labels);
    return this.labelNames.map((k) => [k, labels[k] ?? ""]);
  }

  /**
   * The series' key: each declared label's value in order, length-prefixed so that no two
   * label sets share one. Built on every record (the bus counts every command, the gateway
   * every request), so it is a string of the values rather than JSON of label pairs.
   */
  protected keyOf(labels: Labels): string {
    let key = "";
    let declared = 0;
    for (const k of this.labelNames) {
      if (k in labels) declared++;
      const v = labels[k] ?? "";
      key += `${v.length}:${v}`;
    }
    if (declared !== Object.keys(labels).length) {
      const undeclared = Object.keys(labels).find((k) => !this.labelNames.includes(k));
      throw new Error(`${this.name} has no label '${undeclared}'`);
    }
    return key;
  }

  protected add(labels: Labels, delta: number, set = false): void {
    const key = this.keyOf(labels);
    const s = this.series.get(key);
    if (s === undefined) this.series.set(key, { labels: this.ordered(labels), value: delta });
    else s.value = set ? delta : s.value + delta;
  }

  protected header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  abstract expose(): Promise<string>;
}

export class Counter extends Metric {
  readonly type = "counter";

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`${this.name}: a counter only goes up`);
    this.add(labels, by);
  }

  async expose(): Promise<string> {
    const lines = [...this.series.values()].map((s) => `${this.name}${labelText(s.labels)} ${number(s.value)}\n`);
    return this.header() + lines.join("");
  }
}

export class Gauge extends Metric {
  readonly type = "gauge";
  private readonly collectors = new Set<() => Promise<Sample[]>>();

  set(labels: Labels, value: number): void {
    this.add(labels, value, true);
  }

  /** Drops a series (what it described is gone). */
  remove(labels: Labels): void {
    this.series.delete(this.keyOf(labels));
  }

  /**
   * Reads samples at scrape time; returns the function that removes the collector (a
   * service that stops). A collector that fails leaves its samples out of that scrape.
   */
  collect(read: () => Promise<Sample[]>): () => void {
    this.collectors.add(read);
    return () => this.collectors.delete(read);
  }

  async expose(): Promise<string> {
    const collected = await Promise.all(
      [...this.collectors].map((read) =>
        read().catch((): Sample[] => (collectorFailures.inc({ metric: this.name }), [])),
      ),
    );
    const lines = [
      ...[...this.series.values()].map((s) => [s.labels, s.value] as const),
      ...collected.flat().map((s) => [this.ordered(s.labels), s.value] as const),
    ].map(([labels, value]) => `${this.name}${labelText(labels)} ${number(value)}\n`);
    return this.header() + lines.join("");
  }
}

export class Histogram extends Metric {
  readonly type = "histogram";
  private readonly observed = new Map<
    string,
    { labels: [string, string][]; counts: number[]; sum: number; count: number }
  >();

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    if (buckets.some((b, i) => i > 0 && b <= (buckets[i - 1] ?? -Infinity))) {
      throw new Error(`${name}: buckets must increase`);
    }
  }

  observe(labels: Labels, value: number): void {
    const key = this.keyOf(labels);
    let h = this.observed.get(key);
    if (h === undefined) {
      h = { labels: this.ordered(labels), counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.observed.set(key, h);
    }
    // Buckets are cumulative and increasing: every one from the first that holds the value.
    const buckets = this.buckets;
    const counts = h.counts;
    for (let i = buckets.length - 1; i >= 0 && value <= (buckets[i] as number); i--) counts[i] = (counts[i] ?? 0) + 1;
    h.sum += value;
    h.count += 1;
  }

  /** Count and sum of each labelled series (for summaries outside Prometheus: micro stats). */
  totals(): { labels: Labels; count: number; sum: number }[] {
    return [...this.observed.values()].map((h) => ({
      labels: Object.fromEntries(h.labels),
      count: h.count,
      sum: h.sum,
    }));
  }

  /** Starts a timer; calling the result observes the seconds since, with the labels known by then. */
  startTimer(): (labels: Labels) => void {
    const start = process.hrtime.bigint();
    return (labels) => this.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
  }

  async expose(): Promise<string> {
    const lines: string[] = [];
    for (const h of this.observed.values()) {
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket${labelText([...h.labels, ["le", number(b)]])} ${h.counts[i] ?? 0}\n`);
      });
      lines.push(`${this.name}_bucket${labelText([...h.labels, ["le", "+Inf"]])} ${h.count}\n`);
      lines.push(`${this.name}_sum${labelText(h.labels)} ${number(h.sum)}\n`);
      lines.push(`${this.name}_count${labelText(h.labels)} ${h.count}\n`);
    }
    return this.header() + lines.join("");
  }
}

/**
 * The metrics of one process. Asking again for a metric by name returns the one already
 * made (several services may start in one process: the launcher in tests), provided the
 * type and labels agree.
 */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(name, Counter, () => new Counter(name, help, labelNames), labelNames);
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.register(name, Gauge, () => new Gauge(name, help, labelNames), labelNames);
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS,
  ): Histogram {
    return this.register(name, Histogram, () => new Histogram(name, help, labelNames, buckets), labelNames);
  }

  /** Every metric in the text format, in the order registered. */
  async expose(): Promise<string> {
    return (await Promise.all([...this.metrics.values()].map((m) => m.expose()))).join("");
  }

  private register<M extends Metric>(
    name: string,
    type: abstract new (...args: never[]) => M,
    make: () => M,
    labelNames: readonly string[],
  ): M {
    const existing = this.metrics.get(name);
    if (existing === undefined) {
      const made = make();
      this.metrics.set(name, made);
      return made;
    }
    if (!(existing instanceof type) || existing.labelNames.join() !== labelNames.join()) {
      throw new Error(`metric ${name} is already registered with another type or labels`);
    }
    return existing;
  }
}

/** The process's registry: what /metrics serves. */
export const metrics = new MetricsRegistry();

const collectorFailures = metrics.counter(
  "sdn_metrics_collector_failures_total",
  "Scrapes in which a gauge could not be read (its samples were left out)",
  ["metric"],
);
