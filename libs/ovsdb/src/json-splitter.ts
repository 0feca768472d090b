import { OvsdbError } from "./errors.js";

/**
 * Cuts a byte stream into top-level JSON texts. RFC 7047 sends JSON-RPC objects back to
 * back with no delimiter, and a socket read may hold half an object or several: we count
 * brace/bracket depth outside strings (honouring backslash escapes) and hand out each
 * complete value as soon as its closing brace arrives. A value may not exceed `maxBytes`,
 * so a hostile or broken server cannot make us buffer without bound.
 */
export class JsonSplitter {
  private chunks: Buffer[] = [];
  private size = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxBytes: number) {}

  /** Feeds bytes; returns the complete values' texts in order. Throws MALFORMED_MESSAGE. */
  push(data: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          start = i + 1; // whitespace between values
          continue;
        }
        if (c !== 0x7b && c !== 0x5b) {
          throw new OvsdbError("MALFORMED_MESSAGE", `unexpected byte 0x${c.toString(16)} between JSON-RPC messages`);
        }
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.take(data.subarray(start, i + 1)));
          start = i + 1;
        }
      }
    }
    if (start < data.length && (this.depth > 0 || this.inString)) this.keep(data.subarray(start));
    return out;
  }

  private keep(part: Buffer): void {
    this.size += part.length;
    if (this.size > this.maxBytes) {
      throw new OvsdbError("MALFORMED_MESSAGE", `a message exceeds the ${this.maxBytes}-byte limit`);
    }
    this.chunks.push(part);
  }

  private take(last: Buffer): string {
    this.keep(last);
    const text = Buffer.concat(this.chunks, this.size).toString("utf8");
    this.chunks = [];
    this.size = 0;
    return text;
  }
}
