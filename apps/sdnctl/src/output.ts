/**
 * What sdnctl prints, in the format `-f/--format` asks for (the OpenStack CLI's):
 * `table` aligned for people, `value` the bare values for shell loops, `json` and `yaml`
 * the API's document as it came (`--json` is `-f json`). `-c/--column` keeps only the
 * named columns (table, value) or fields (json, yaml). Results go to stdout; notices,
 * progress and errors go to stderr so that a pipe only gets the result.
 */
import { UsageError } from "./errors.js";
import type { CliIo, OutStream } from "./io.js";
import { toYaml } from "./yaml.js";

export const FORMATS = ["table", "value", "json", "yaml"] as const;
export type Format = (typeof FORMATS)[number];

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/** Bold headers only for a terminal, and never when NO_COLOR is set (no-color.org). */
export const useColour = (stream: OutStream, env: CliIo["env"]): boolean =>
  stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb";

/** "REMOTE IP", "remote_ip", "remote-ip" and "remoteIp" all name the same column. */
const columnKey = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, "");

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class Output {
  private readonly colour: boolean;
  private readonly wanted: readonly string[];

  constructor(
    private readonly io: CliIo,
    readonly format: Format = "table",
    /** -c/--column, in the order given. */
    columns: readonly string[] = [],
  ) {
    this.colour = useColour(io.stdout, io.env);
    this.wanted = columns;
  }

  /** A machine format: the API's document rather than what `show` prints. */
  get json(): boolean {
    return this.format === "json" || this.format === "yaml";
  }

  /** A result: the API's document in json/yaml (its fields picked by -c), else what `show` prints. */
  result<T>(value: T, show: (value: T) => void): void {
    if (this.json) this.printDocument(this.wanted.length === 0 ? value : this.pickFields(value));
    else show(value);
  }

  printJson(value: unknown): void {
    this.printDocument(value);
  }

  /** One JSON document per line, for streams (yaml: one document each, `---` separated). */
  printJsonLine(value: unknown): void {
    this.io.stdout.write(this.format === "yaml" ? `---\n${toYaml(value)}` : `${JSON.stringify(value)}\n`);
  }

  /** Rows under a header, columns aligned; an empty list still prints the header. `value`: no header. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    const shown = this.select(columns.map((c) => c.header)).map((i) => columns[i] as Column<T>);
    const cells = rows.map((row) => shown.map((c) => cellText(c.value(row))));
    if (this.format === "value") {
      for (const row of cells) this.io.stdout.write(`${row.join(" ")}\n`);
      return;
    }
    const widths = shown.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? "").length)));
    const line = (values: string[], style: (s: string) => string = (s) => s) =>
      `${values
        .map((v, i) => style(i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd()}\n`;
    this.io.stdout.write(
      line(
        shown.map((c) => c.header),
        (s) => this.bold(s),
      ),
    );
    for (const row of cells) this.io.stdout.write(line(row));
  }

  /** One resource as `field  value` lines (`value`: the values alone); fields without a value are left out. */
  record(fields: readonly (readonly [string, unknown])[]): void {
    const picked = this.select(fields.map(([k]) => k)).map((i) => fields[i] as readonly [string, unknown]);
    const shown = picked.filter(([, v]) => v !== undefined);
    if (this.format === "value") {
      for (const [, value] of shown) this.io.stdout.write(`${cellText(value)}\n`);
      return;
    }
    const width = Math.max(0, ...shown.map(([k]) => k.length));
    for (const [key, value] of shown) {
      this.io.stdout.write(`${this.bold(key.padEnd(width))}  ${cellText(value)}\n`.replace(/ +\n$/, "\n"));
    }
  }

  /** A line of a result, for streams that cannot wait to align a table. */
  line(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** A line for the person at the terminal, on stderr. */
  notice(message: string): void {
    this.io.stderr.write(`${message}\n`);
  }

  private printDocument(value: unknown): void {
    this.io.stdout.write(this.format === "yaml" ? toYaml(value) : `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Indexes of the -c columns among `names`, in -c order; all of them without -c. */
  private select(names: readonly string[]): number[] {
    if (this.wanted.length === 0) return names.map((_, i) => i);
    const keys = names.map(columnKey);
    return this.wanted.map((w) => {
      const i = keys.indexOf(columnKey(w));
      if (i < 0) throw new UsageError(`no column '${w}'; the columns are: ${names.join(", ")}`);
      return i;
    });
  }

  /**
   * -c in json/yaml: the named fields of the resource, or of each item of a list (a page
   * `{ items: [...], nextCursor }` keeps its other fields). A field an item lacks is left
   * out, as the API leaves out a field without a value.
   */
  private pickFields(value: unknown): unknown {
    const wanted = new Set(this.wanted.map(columnKey));
    const pick = (item: unknown): unknown =>
      isRecord(item) ? Object.fromEntries(Object.entries(item).filter(([k]) => wanted.has(columnKey(k)))) : item;
    if (Array.isArray(value)) return value.map(pick);
    if (!isRecord(value)) return value;
    const lists = Object.entries(value).filter(([, v]) => Array.isArray(v));
    if (lists.length === 1 && lists[0] !== undefined) {
      const [field, items] = lists[0] as [string, unknown[]];
      return { ...value, [field]: items.map(pick) };
    }
    return pick(value);
  }

  private bold(text: string): string {
    return this.colour ? `\x1b[1m${text}\x1b[22m` : text;
  }
}

const cellText = (value: unknown): string => {
  if (value === undefined || value === null || value === "") return "-";
  if (typeof value === "string") return value.replace(/[\r\n\t]+/g, " ");
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
};
