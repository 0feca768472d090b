import { describe, expect, it } from "vitest";
import type { CliIo } from "./io.js";
import { Output } from "./output.js";

const io = (isTTY: boolean, env: Record<string, string> = {}) => {
  const out = { text: "", isTTY, write: (s: string) => (out.text += s) };
  const err = { text: "", isTTY, write: (s: string) => (err.text += s) };
  const value: CliIo = { stdout: out, stderr: err, env, readStdin: async () => "" };
  return { value, out };
};

const rows = [
  { id: "a-1", name: "first", note: undefined },
  { id: "b-22222", name: "x", note: { k: 1 } },
];
const columns = [
  { header: "ID", value: (r: (typeof rows)[number]) => r.id },
  { header: "NAME", value: (r: (typeof rows)[number]) => r.name },
  { header: "NOTE", value: (r: (typeof rows)[number]) => r.note },
];

describe("Output", () => {
  it("aligns columns without colour or trailing spaces when not a terminal", () => {
    const { value, out } = io(false);
    new Output(value, false).table(rows, columns);
    expect(out.text).toBe('ID       NAME   NOTE\na-1      first  -\nb-22222  x      {"k":1}\n');
  });

  it("makes headers bold on a terminal, unless NO_COLOR is set", () => {
    const tty = io(true);
    new Output(tty.value, false).table(rows.slice(0, 1), columns);
    expect(tty.out.text.split("\n")[0]).toBe("\x1b[1mID \x1b[22m  \x1b[1mNAME \x1b[22m  \x1b[1mNOTE\x1b[22m");
    const plain = io(true, { NO_COLOR: "1" });
    new Output(plain.value, false).table(rows.slice(0, 1), columns);
    expect(plain.out.text).not.toContain("\x1b[");
  });

  it("prints the value itself as JSON with --json", () => {
    const { value, out } = io(false);
    new Output(value, true).result({ items: rows }, () => {
      throw new Error("not a table");
    });
    expect(JSON.parse(out.text)).toEqual({
      items: [
        { id: "a-1", name: "first" },
        { id: "b-22222", name: "x", note: { k: 1 } },
      ],
    });
  });
});
