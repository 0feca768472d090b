import { waitFor } from "@sdn/testkit";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Supervisor } from "./supervisor.js";

// A program that keeps many young objects alive (what makes V8 grow its young generation),
// then writes the size of its young generation (both semi-spaces, MB) and stays up.
const PROGRAM = `
import v8 from "node:v8";
import { writeFileSync } from "node:fs";
const keep = [];
for (let i = 0; i < 300000; i++) keep.push({ i, s: "x" + i });
const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
writeFileSync(process.env.OUT, String(young.space_size / 1048576));
setInterval(() => keep.length, 1000);
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs PROGRAM under a Supervisor with the given NODE_OPTIONS; its young generation's size in MB. */
const youngGenerationMb = async (nodeOptions: string | undefined): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), "sdn-supervisor-"));
  dirs.push(dir);
  const entry = join(dir, "program.mjs");
  const out = join(dir, "out");
  writeFileSync(entry, PROGRAM);
  const supervisor = new Supervisor(
    [{ name: "program", entry, env: { OUT: out } }],
    { PATH: process.env["PATH"], ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }) },
    () => undefined,
  );
  supervisor.start();
  try {
    return await waitFor("the program's figure", () => {
      const text = existsSync(out) ? readFileSync(out, "utf8") : "";
      return text === "" ? undefined : Number(text);
    });
  } finally {
    await supervisor.stop();
  }
};

describe("Supervisor", () => {
  it("caps the young generation of the services it runs (idle memory)", async () => {
    // 2 MB of semi-spaces on Node 20, a little more on 24 (V8 adds to it); the default is 32.
    expect(await youngGenerationMb(undefined)).toBeLessThanOrEqual(8);
  });

  it("lets the operator's NODE_OPTIONS raise it again", async () => {
    expect(await youngGenerationMb("--max-semi-space-size=16")).toBeGreaterThan(8);
  });
});
