import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { writePrebuiltInfo } from "./prebuilt-line.js";

const capture = () => {
  const writes: string[] = [];
  return { writes, logger: createLogger("test", "info", { write: (text: string) => void writes.push(text) }) };
};

/** A line without its time, which two lines written a millisecond apart do not share. */
const timeless = (line: string) => line.replace(/,"time":"[^"]*"/, "");

describe("prebuilt info line", () => {
  it("is the line logger.info writes for the same fields, bindings included", async () => {
    const { writes, logger } = capture();
    const child = logger.child({ reqId: 'r"1' });
    child.info({ method: "GET", status: 200, ms: 1.5 }, "request");
    writePrebuiltInfo(child, ',"method":"GET","status":200,"ms":1.5', "request");
    await nextTurn();
    expect(writes).toHaveLength(2);
    expect(timeless(writes[1] ?? "")).toBe(timeless(writes[0] ?? ""));
    expect(JSON.parse(writes[1] ?? "")).toMatchObject({ level: "info", service: "test", reqId: 'r"1', status: 200 });
  });

  it("escapes the message", async () => {
    const { writes, logger } = capture();
    writePrebuiltInfo(logger, "", 'a"}\n{"level":"fatal');
    await nextTurn();
    expect(writes.join("").split("\n")).toHaveLength(2);
    expect(JSON.parse(writes[0] ?? "")).toMatchObject({ level: "info", msg: 'a"}\n{"level":"fatal' });
  });

  it("writes a turn's lines at its end, in order, in one write", async () => {
    const { writes, logger } = capture();
    for (let i = 0; i < 3; i++) writePrebuiltInfo(logger, `,"i":${i}`, "request");
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toHaveLength(1);
    const lines = (writes[0] ?? "").split("\n").filter((l) => l !== "");
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([0, 1, 2]);
  });

  it("still writes the lines of a process that exits in the same turn, and exits as it meant to", async () => {
    const dir = await mkdtemp(join(tmpdir(), "prebuilt-line-"));
    try {
      const script = join(dir, "exit.ts");
      const logger = fileURLToPath(new URL("./logger.ts", import.meta.url));
      const prebuilt = fileURLToPath(new URL("./prebuilt-line.ts", import.meta.url));
      await writeFile(
        script,
        `import { createLogger } from ${JSON.stringify(logger)};\n` +
          `import { writePrebuiltInfo } from ${JSON.stringify(prebuilt)};\n` +
          // A writer that throws (destroyed) is written to first: the others still get theirs.
          `const broken = createLogger("broken", "info", { write: () => { throw new Error("destroyed"); } });\n` +
          `writePrebuiltInfo(broken, "", "lost");\n` +
          `const log = createLogger("exiting", "info");\n` +
          `for (let i = 0; i < 100; i++) writePrebuiltInfo(log, \`,"i":\${i}\`, "request");\n` +
          `process.exit(0);\n`,
      );
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script], {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
      });
      const lines = stdout.split("\n").filter((l) => l !== "");
      expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(100).keys()]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
