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
    new Output(value).table(rows, columns);
    expect(out.text).toBe('ID       NAME   NOTE\na-1      first  -\nb-22222  x      {"k":1}\n');
  });

  it("makes headers bold on a terminal, unless NO_COLOR is set", () => {
    const tty = io(true);
    new Output(tty.value).table(rows.slice(0, 1), columns);
    expect(tty.out.text.split("\n")[0]).toBe("\x1b[1mID \x1b[22m  \x1b[1mNAME \x1b[22m  \x1b[1mNOTE\x1b[22m");
    const plain = io(true, { NO_COLOR: "1" });
    new Output(plain.value).table(rows.slice(0, 1), columns);
    expect(plain.out.text).not.toContain("\x1b[");
  });

  it("prints the value itself as JSON with -f json", () => {
    const { value, out } = io(false);
    new Output(value, "json").result({ items: rows }, () => {
      throw new Error("not a table");
    });
    expect(JSON.parse(out.text)).toEqual({
      items: [
        { id: "a-1", name: "first" },
        { id: "b-22222", name: "x", note: { k: 1 } },
      ],
    });
  });

  it("prints bare values with -f value, and only the -c columns in their order", () => {
    const { value, out } = io(false);
    new Output(value, "value", ["name", "Id"]).table(rows, columns);
    expect(out.text).toBe("first a-1\nx b-22222\n");
    const rec = io(false);
    new Output(rec.value, "value", ["name"]).record([
      ["id", "a-1"],
      ["name", "first"],
    ]);
    expect(rec.out.text).toBe("first\n");
  });

  it("names the columns there are when -c asks for one that is not", () => {
    const { value } = io(false);
    expect(() => new Output(value, "table", ["colour"]).table(rows, columns)).toThrow(
      "no column 'colour'; the columns are: ID, NAME, NOTE",
    );
  });

  it("keeps the -c fields of each listed item in json, and the page's other fields", () => {
    const { value, out } = io(false);
    new Output(value, "json", ["name", "remote_ip"]).result(
      { tunnels: [{ id: "t", name: "a", remoteIp: "10.0.0.2" }], nextCursor: "c" },
      () => undefined,
    );
    expect(JSON.parse(out.text)).toEqual({ tunnels: [{ name: "a", remoteIp: "10.0.0.2" }], nextCursor: "c" });
  });
});
