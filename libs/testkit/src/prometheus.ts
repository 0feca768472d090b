/**
 * A strict reader of the Prometheus text format 0.0.4, for tests: every line must parse,
 * every sample must belong to a family declared by `# TYPE` before it, and histograms
 * must be cumulative with `+Inf` equal to `_count`.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: PromSample[];
  /** The samples of `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): PromSample[];
  /** The one value of `name` with `labels` (fails when there is not exactly one). */
  value(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)(?: (-?\d+))?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/;

const parseValue = (text: string, line: string): number => {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const v = Number(text);
  if (text === "" || Number.isNaN(v)) throw new Error(`bad value in '${line}'`);
  return v;
};

const parseLabels = (text: string, line: string): Record<string, string> => {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== "") {
    const m = LABEL.exec(rest);
    if (m === null) throw new Error(`bad labels in '${line}'`);
    const [whole, key = "", raw = ""] = m;
    if (key in labels) throw new Error(`label ${key} twice in '${line}'`);
    labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(whole.length);
  }
  return labels;
};

const familyOf = (name: string, types: Map<string, string>): string | undefined => {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return types.get(base) === "histogram" || types.get(base) === "summary" ? base : undefined;
};

const matches = (s: PromSample, labels: Record<string, string>) =>
  Object.entries(labels).every(([k, v]) => s.labels[k] === v);

export const parsePrometheus = (text: string): Scrape => {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: PromSample[] = [];
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name = "", rest = ""] = meta;
      if (kind === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest))
          throw new Error(`bad type: ${line}`);
        if (types.has(name)) throw new Error(`${name} typed twice`);
        types.set(name, rest);
      } else help.set(name, rest);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample: '${line}'`);
    const [, name = "", , labelText = "", value = ""] = m;
    if (familyOf(name, types) === undefined) throw new Error(`${name} has no # TYPE before it`);
    samples.push({ name, labels: parseLabels(labelText, line), value: parseValue(value, line) });
  }
  checkHistograms(types, samples);
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && matches(s, labels));
  return {
    types,
    help,
    samples,
    find,
    value: (name, labels = {}) => {
      const found = find(name, labels);
      if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
      return (found[0] as PromSample).value;
    },
  };
};

/** Buckets never decrease as `le` grows, and the `+Inf` bucket is the `_count`. */
const checkHistograms = (types: Map<string, string>, samples: PromSample[]): void => {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, PromSample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const sorted = [...buckets].sort(
        (a, b) => parseValue(a.labels["le"] ?? "", "") - parseValue(b.labels["le"] ?? "", ""),
      );
      sorted.forEach((b, i) => {
        if (i > 0 && b.value < (sorted[i - 1] as PromSample).value) throw new Error(`${family} ${key} not cumulative`);
      });
      const inf = sorted.at(-1);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
      if (inf?.labels["le"] !== "+Inf" || count === undefined || count.value !== inf.value) {
        throw new Error(`${family} ${key}: +Inf bucket and _count disagree`);
      }
    }
  }
};
