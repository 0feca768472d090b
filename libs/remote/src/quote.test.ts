import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shellCommand, shellQuote } from "./quote.js";

describe("shellQuote", () => {
  it("leaves plain words alone and quotes the rest", () => {
    expect(shellQuote("sdn-router")).toBe("sdn-router");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("")).toBe("''");
  });

  it("gives a real shell back exactly the words it was given", () => {
    const words = ["it's", "$(id)", "`x`", "a\nb", "*", "-n", "\\", '"q"'];
    const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${shellCommand(words)}`]).toString();
    expect(out.split("\0").slice(0, -1)).toEqual(words);
  });
});
