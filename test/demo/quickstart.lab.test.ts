/**
 * `npm run demo` to its end (root, the lab): it must exit 0 after the pings and the web
 * requests through blue's router (source NAT, port forward), and leave nothing of its run
 * behind — no network namespace, no process (OVS, sshd, XAPI emulator, nats-server,
 * launcher, services, the router's sshd and what it started, web servers), no file.
 * Stopped with SIGTERM midway, or with Ctrl-C once the router runs, it must clean up just
 * as well. Runs the built sdnctl and services (`npm run build` first, as `npm test` does).
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

/** Starts the demo; `stopWhen` sends `signal` once the output contains it. */
const runDemo = (stopWhen?: string, signal: NodeJS.Signals = "SIGTERM"): Promise<DemoRun> =>
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
        child.kill(signal);
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

/**
 * Processes whose command line or environment names the run's lab or work dir, or whose
 * mounts do: what the router's sshd started (sessions, the router program, haproxy) runs
 * in its mount namespace, where the run's folders are bound.
 */
const processesOf = (run: DemoRun): string[] => {
  const marks = [`sdnlab-${run.labRun}`, run.workDir];
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      const mounts = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
      if (marks.some((m) => cmdline.includes(m) || environ.includes(m) || mounts.includes(m))) {
        found.push(`${pid} ${cmdline}`);
      }
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
  it("builds the data centre, meshes two networks, routes one to the internet through sdnctl, proves it with traffic, and leaves nothing", async () => {
    const run = await runDemo();
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("$ sdnctl tunnels list");
    expect(run.output.match(/ Established /g)).toHaveLength(6);
    expect(run.output.match(/^ {2}blue-\S+ +-> blue-.* reply$/gm)).toHaveLength(6);
    expect(run.output.match(/^ {2}blue-\S+ +-> green-.* no reply$/gm)).toHaveLength(3);
    // The router, registered through sdnctl, runs blue's configuration.
    expect(run.output).toContain("$ sdnctl routers register router-blue");
    expect(run.output).toMatch(/^ {2}\S+ +router-blue .*Applied/m);
    // Source NAT: the internet's server sees blue's public IP; green has no way out.
    const publicIp = /source NAT address: (203\.0\.113\.\d+) /.exec(run.output)?.[1] as string;
    expect(publicIp, run.output).toBeDefined();
    const seen = run.output.match(/^ {2}blue-\S+ +GET http:\/\/203\.0\.113\.1\/ +-> ".*; you came from (\S+)"$/gm);
    expect(seen).toHaveLength(3);
    for (const line of seen ?? []) expect(line).toContain(`you came from ${publicIp}"`);
    expect(run.output).toMatch(/^ {2}green-\S+ +GET http:\/\/203\.0\.113\.1\/ +no answer$/m);
    // The port forward: the VM's page, fetched from the internet through public IP:8080.
    const forwarded = new RegExp(`^ {2}internet +GET http://${publicIp.replaceAll(".", "\\.")}:8080/ +-> "(.*)"$`, "m");
    expect(forwarded.exec(run.output)?.[1], run.output).toBe(
      "Hello from blue-xen (192.168.50.11), a VM of network blue; you came from 203.0.113.1",
    );
    expect(run.output).toContain("all good");
    await expectNothingLeft(run);
  }, 300_000);

  it("cleans up everything when stopped with Ctrl-C once the router runs", async () => {
    const run = await runDemo("== 10.", "SIGINT");
    expect(run.code, run.output).toBe(130);
    expect(run.output).toContain("SIGINT: stopping");
    expect(run.output).toContain("$ sdnctl routers register router-blue");
    expect(run.output).toContain("== cleaning up");
    await expectNothingLeft(run);
  }, 240_000);

  it("cleans up everything when stopped with SIGTERM midway", async () => {
    const run = await runDemo("== 4.");
    expect(run.code, run.output).toBe(143);
    expect(run.output).toContain("SIGTERM: stopping");
    expect(run.output).toContain("== cleaning up");
    await expectNothingLeft(run);
  }, 120_000);
});
