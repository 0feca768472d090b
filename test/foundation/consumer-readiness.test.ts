import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { apiGatewaySpec } from "@sdn/api-gateway";
import { CommandClient } from "@sdn/bus";
import { CheckHealth, STREAMS, commandConsumerName } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { startService, type RunningService } from "@sdn/runtime";
import { freePort, TestNatsServer } from "@sdn/testkit";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * A service whose durable consumer is deleted is not ready: /readyz says so naming it, and
 * the container health check (docker/healthcheck.mjs, run as the image runs it) fails.
 * The consumer check interval is long here, so that the red state lasts until the service
 * restarts and makes its consumer anew (without replaying what it already answered).
 */

let nats: TestNatsServer;
let nc: NatsConnection;
let baseUrl: string;
let dir: string;
let guru: RunningService<never> | undefined;
const running: RunningService<never>[] = [];

const startGuru = async () => {
  guru = (await startService(networkGuruSpec, {
    NATS_URL: nats.url,
    LOG_LEVEL: "silent",
    SDN_DATA_DIR: dir,
    SDN_INSTANCE_FILE: join(dir, "instance.json"),
    SDN_CONSUMER_CHECK_MS: "600000",
  })) as unknown as RunningService<never>;
};

/** The image's health check of the guru; its exit code and what it printed. */
const healthcheck = () =>
  new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["docker/healthcheck.mjs", "network-guru"],
      { env: { PATH: process.env["PATH"] ?? "", NATS_URL: nats.url, SDN_INSTANCE_FILE: join(dir, "instance.json") } },
      (err, _stdout, stderr) => resolve({ code: err === null ? 0 : Number(err.code ?? 1), stderr }),
    );
  });

const readiness = async () => {
  const res = await fetch(`${baseUrl}/readyz`);
  const body = (await res.json()) as { services: Record<string, { ok: boolean; detail: string }> };
  return { status: res.status, guru: body.services["network-guru"] };
};

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  dir = mkdtempSync(join(tmpdir(), "sdn-readiness-"));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  running.push(
    (await startService(apiGatewaySpec, {
      NATS_URL: nats.url,
      LOG_LEVEL: "silent",
      SDN_DATA_DIR: dir,
      SDN_HTTP_PORT: String(port),
      SDN_READY_TIMEOUT_MS: "1000",
      SDN_ADMIN_TOKEN: `sdn_${randomBytes(32).toString("base64url")}`,
    })) as unknown as RunningService<never>,
  );
  await startGuru();
}, 30_000);

afterAll(async () => {
  await guru?.stop();
  for (const s of running.reverse()) await s.stop();
  await nc?.close();
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("readiness follows the command consumer", () => {
  it("goes red when the consumer is deleted and green when the restarted service made it anew", async () => {
    const commands = new CommandClient(nc);
    const first = await commands.send(CheckHealth["network-guru"], {}, { commandId: "ready-1" });
    expect(first.ok).toBe(true);
    expect((await readiness()).guru).toMatchObject({ ok: true });
    expect(await healthcheck()).toMatchObject({ code: 0 });

    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(STREAMS.commands.name, commandConsumerName("network-guru"));
    const red = await readiness();
    expect(red.status).toBe(503);
    expect(red.guru).toMatchObject({ ok: false, detail: expect.stringContaining("cmd-network-guru") });
    const unhealthy = await healthcheck();
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.stderr).toContain("is unhealthy");

    await guru?.stop();
    await startGuru();
    expect((await readiness()).guru).toMatchObject({ ok: true });
    expect(await healthcheck()).toMatchObject({ code: 0 });
    // The answered command was not run again by the new consumer: its answer is the first one.
    const again = await commands.send(CheckHealth["network-guru"], {}, { commandId: "ready-1" });
    expect(again).toEqual(first);
    expect(await commands.findAnswer(CheckHealth["network-guru"], "ready-1", undefined)).toEqual(first);
  }, 30_000);
});
