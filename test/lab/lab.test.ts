import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exec } from "./exec.js";
import { Lab } from "./lab.js";

const namespaces = async () => (await exec(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]);
/** Running (a zombie left for a reaper that never comes counts as ended). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

describe("the lab's own clean-up", () => {
  it("leaves no namespace, process, link or folder behind after dispose", async () => {
    const lab = await Lab.create();
    const host = await lab.addKvmHost("k");
    await host.addVm("v", "192.168.5.1/24");
    const pid = Number((await exec(["cat", join(host.rundir, "ovs-vswitchd.pid")])).trim());
    await lab.dispose();
    expect((await namespaces()).filter((n) => n?.includes(lab.runId))).toEqual([]);
    expect(existsSync(lab.dir)).toBe(false);
    expect(alive(pid)).toBe(false);
    expect((await exec(["ip", "-o", "link", "show"])).includes(lab.rootLink)).toBe(false);
  });

  it("removes what a crashed run left: its namespaces, their processes and its folder", async () => {
    const run = randomBytes(3).toString("hex");
    const ns = `sdnlab-${run}-host`;
    const dir = join(tmpdir(), `sdnlab-${run}`);
    mkdirSync(dir);
    // The owner of that run is a process that has exited.
    writeFileSync(join(dir, "owner.pid"), String(spawnSync("true").pid));
    await exec(["ip", "netns", "add", ns]);
    const orphan = spawn("ip", ["netns", "exec", ns, "sleep", "300"], { detached: true, stdio: "ignore" });
    orphan.unref();
    await new Promise((r) => setTimeout(r, 200));
    expect(await Lab.cleanupLeftovers()).toContain(run);
    expect(await namespaces()).not.toContain(ns);
    expect(existsSync(dir)).toBe(false);
    expect(alive(orphan.pid as number)).toBe(false);
  });
});
