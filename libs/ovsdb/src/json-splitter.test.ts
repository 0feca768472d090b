import { describe, expect, it } from "vitest";
import { OvsdbError } from "./errors.js";
import { JsonSplitter } from "./json-splitter.js";

const feed = (s: JsonSplitter, ...parts: string[]): string[] => parts.flatMap((p) => s.push(Buffer.from(p)));

describe("JsonSplitter", () => {
  it("cuts concatenated values and joins split ones", () => {
    const s = new JsonSplitter(1024);
    expect(feed(s, '{"a":1}{"b":[1,', "2]}\n", '{"c"', ":3}")).toEqual(['{"a":1}', '{"b":[1,2]}', '{"c":3}']);
  });

  it("ignores braces inside strings, honouring escapes", () => {
    const s = new JsonSplitter(1024);
    const text = '{"k":"}{\\"]\\\\","x":"\\u007b"}';
    expect(feed(s, text.slice(0, 7), text.slice(7), "[1]")).toEqual([text, "[1]"]);
    expect(JSON.parse(text)).toEqual({ k: '}{"]\\', x: "{" });
  });

  it("splits a multi-byte character across reads without corrupting it", () => {
    const s = new JsonSplitter(1024);
    const bytes = Buffer.from('{"name":"brücke"}');
    const cut = bytes.indexOf(0xc3) + 1;
    expect([...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut))]).toEqual(['{"name":"brücke"}']);
  });

  it("refuses a value over the size limit and bytes that start no value", () => {
    const big = new JsonSplitter(16);
    expect(() => feed(big, '{"a":"', "x".repeat(20))).toThrow(OvsdbError);
    try {
      feed(new JsonSplitter(16), "hello");
    } catch (e) {
      expect((e as OvsdbError).code).toBe("MALFORMED_MESSAGE");
    }
    expect.assertions(2);
  });
});
