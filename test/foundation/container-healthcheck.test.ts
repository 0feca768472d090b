import { networkGuruSpec } from "@sdn/network-guru";
import { startService, type RunningService } from "@sdn/runtime";
import { TestNatsServer } from "@sdn/testkit";
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * The images' HEALTHCHECK (docker/healthcheck.mjs) must judge the process in its own
 * container: two replicas of one service, each with its own instance file, as two
 * containers would have.
 */

let nats: TestNatsServer;
let dir: string;
const replicas: RunningService<never>[] = [];
const fileOf = (i: number) => join(dir, `replica-${i}.json`);

// Asynchronous: the replicas live in this process and must answer while the check runs.
const healthcheck = (instanceFile: string | undefined) =>
  new Promise<{ status: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["docker/healthcheck.mjs", "network-guru"],
      {
        env: {
          PATH: process.env.PATH,
          NATS_URL: nats.url,
          ...(instanceFile === undefined ? {} : { SDN_INSTANCE_FILE: instanceFile }),
        },
        timeout: 20_000,
      },
      (err, _stdout, stderr) => resolve({ status: err === null ? 0 : Number(err.code ?? -1), stderr }),
    );
  });

beforeAll(async () => {
  nats = await TestNatsServer.start();
  dir = await mkdtemp(join(tmpdir(), "sdn-health-"));
  for (const i of [0, 1]) {
    const svc = await startService(networkGuruSpec, {
      NATS_URL: nats.url,
      LOG_LEVEL: "silent",
      SDN_DATA_DIR: dir,
      SDN_INSTANCE_FILE: fileOf(i),
    });
    replicas.push(svc as unknown as RunningService<never>);
  }
});

afterAll(async () => {
  for (const r of replicas) await r.stop();
  await nats.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe("container health check", () => {
  it("each replica records its own bus identity and passes its own check", async () => {
    const [first, second] = await Promise.all(
      [0, 1].map(async (i) => JSON.parse(await readFile(fileOf(i), "utf8")) as { service: string; microId: string }),
    );
    expect(first).toMatchObject({ service: "network-guru", pid: process.pid });
    expect(first?.microId).not.toBe(second?.microId);
    expect((await healthcheck(fileOf(0))).status).toBe(0);
    expect((await healthcheck(fileOf(1))).status).toBe(0);
  });

  it("fails for a replica that stopped answering although another one still does", async () => {
    // A dead process leaves its record behind; keep a copy, as a killed container would.
    const left = join(dir, "left-behind.json");
    await copyFile(fileOf(0), left);
    await replicas.shift()?.stop();
    const dead = await healthcheck(left);
    expect(dead.status).toBe(1);
    expect(dead.stderr).toMatch(/network-guru unhealthy: instance network-guru-\w+ does not answer/);
    expect((await healthcheck(fileOf(1))).status).toBe(0);
  });

  it("a stopped replica removes its record, and no record means unhealthy", async () => {
    await expect(readFile(fileOf(0), "utf8")).rejects.toThrow(/ENOENT/);
    expect((await healthcheck(fileOf(0))).stderr).toMatch(/holds no network-guru instance/);
    expect((await healthcheck(undefined)).stderr).toMatch(/SDN_INSTANCE_FILE is not set/);
  });
});
