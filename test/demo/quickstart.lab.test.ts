/**
 * `npm run demo` to its end (root, the lab): it must exit 0 after the pings, and leave
 * nothing of its run behind — no network namespace, no process (OVS, sshd, XAPI emulator,
 * nats-server, launcher, services), no file. Stopped with SIGTERM midway, it must clean up
 * just as well. Runs the built sdnctl and services (`npm run build` first, as `npm test` does).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { waitFor } from "@sdn/testkit";
import { describe, expect, it } from "vitest";
import { exec } from "../lab/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  workDir: string;
  labRun: string;
}

/** Starts the demo; `stopWhen` sends SIGTERM once the output contains it. */
const runDemo = (stopWhen?: string): Promise<DemoRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=sdn-source", "test/demo/quickstart.ts"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let stopped = false;
    const collect = (d: Buffer) => {
      output += d.toString();
      if (stopWhen !== undefined && !stopped && output.includes(stopWhen)) {
        stopped = true;
        child.kill("SIGTERM");
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        output,
        workDir: /work dir (\S+)/.exec(output)?.[1] ?? "",
        labRun: /lab run (\w+):/.exec(output)?.[1] ?? "",
      }),
    );
  });

/** Processes whose command line or environment names the run's lab or work dir. */
const processesOf = (run: DemoRun): string[] => {
  const marks = [`sdnlab-${run.labRun}`, run.workDir];
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (marks.some((m) => cmdline.includes(m) || environ.includes(m))) found.push(`${pid} ${cmdline}`);
    } catch {
      // the process ended while being read
    }
  }
  return found;
};

const expectNothingLeft = async (run: DemoRun) => {
  expect(run.labRun, run.output).toMatch(/^[0-9a-f]{6}$/);
  expect(run.workDir, run.output).toMatch(/^\/tmp\/sdn-demo-/);
  // Processes reparented to init may take a moment to be reaped.
  await waitFor("the demo's processes to end", () => (processesOf(run).length === 0 ? true : undefined), 5_000).catch(
    () => undefined,
  );
  expect(processesOf(run)).toEqual([]);
  const netns = await exec(["ip", "netns", "list"]);
  expect(netns.split("\n").filter((l) => l.includes(run.labRun))).toEqual([]);
  expect(existsSync(run.workDir)).toBe(false);
  expect(existsSync(`/tmp/sdnlab-${run.labRun}`)).toBe(false);
};

describe("npm run demo", () => {
  it("builds the data centre, meshes two networks through sdnctl, proves it with pings, and leaves nothing", async () => {
    const run = await runDemo();
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("$ sdnctl tunnels list");
    expect(run.output.match(/ Established /g)).toHaveLength(6);
    expect(run.output.match(/^ {2}blue-\S+ +-> blue-.* reply$/gm)).toHaveLength(6);
    expect(run.output.match(/^ {2}blue-\S+ +-> green-.* no reply$/gm)).toHaveLength(3);
    expect(run.output).toContain("all good");
    await expectNothingLeft(run);
  }, 150_000);

  it("cleans up everything when stopped with SIGTERM midway", async () => {
    const run = await runDemo("== 4.");
    expect(run.code, run.output).toBe(143);
    expect(run.output).toContain("SIGTERM: stopping");
    expect(run.output).toContain("== cleaning up");
    await expectNothingLeft(run);
  }, 120_000);
});
