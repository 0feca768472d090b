/**
 * What sdnctl prints: aligned tables for people, exact API JSON with --json for scripts.
 * Results go to stdout; notices, progress and errors go to stderr so that a pipe only
 * gets the result.
 */
import type { CliIo, OutStream } from "./io.js";

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/** Bold headers only for a terminal, and never when NO_COLOR is set (no-color.org). */
export const useColour = (stream: OutStream, env: CliIo["env"]): boolean =>
  stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb";

export class Output {
  private readonly colour: boolean;

  constructor(
    private readonly io: CliIo,
    /** --json: print the API's JSON as it came. */
    readonly json: boolean,
  ) {
    this.colour = useColour(io.stdout, io.env);
  }

  /** A result: its JSON with --json, else what `show` prints. */
  result<T>(value: T, show: (value: T) => void): void {
    if (this.json) this.printJson(value);
    else show(value);
  }

  printJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One JSON document per line, for streams. */
  printJsonLine(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Rows under a header, columns aligned; an empty list still prints the header. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))));
    const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? "").length)));
    const line = (values: string[], style: (s: string) => string = (s) => s) =>
      `${values
        .map((v, i) => style(i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd()}\n`;
    this.io.stdout.write(
      line(
        columns.map((c) => c.header),
        (s) => this.bold(s),
      ),
    );
    for (const row of cells) this.io.stdout.write(line(row));
  }

  /** One resource as `field  value` lines; fields without a value are left out. */
  record(fields: readonly (readonly [string, unknown])[]): void {
    const shown = fields.filter(([, v]) => v !== undefined);
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
