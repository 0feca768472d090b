import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { spawn } from "node:child_process";
import { freePort, TestNatsServer, waitFor } from "@sdn/testkit";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const launcher = fileURLToPath(new URL("../../apps/launcher/dist/main.js", import.meta.url));
let nats: TestNatsServer;
let dataDir: string;

beforeAll(async () => {
  nats = await TestNatsServer.startSecured();
  dataDir = mkdtempSync(join(tmpdir(), "sdn-start-"));
});
afterAll(async () => {
  await nats?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start (the launcher, built)", () => {
  it("starts every service as its own process, becomes ready, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [launcher], {
      env: {
        ...process.env,
        NATS_URL: nats.url,
        // Each service reads its own <service>.creds there.
        SDN_BUS_CREDENTIALS_DIR: nats.auth?.dir,
        SDN_HTTP_PORT: String(port),
        SDN_DATA_DIR: dataDir,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    try {
      const ready = await waitFor(
        "readiness",
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return res?.status === 200 ? ((await res.json()) as { ready: boolean }) : undefined;
        },
        60_000,
        200,
      );
      expect(ready.ready).toBe(true);
      expect(output).toContain(`using NATS at ${nats.url}`);
      expect(output).toContain(`generated an admin token; it is in ${join(dataDir, "admin-token")}`);
    } finally {
      const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exit).toBe(0);
    }
    // Every service process is gone with it: the port no longer answers.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 90_000);

  it("refuses a bad setting, naming the variable, instead of restarting in a loop", async () => {
    const child = spawn(process.execPath, [launcher], {
      env: {
        ...process.env,
        NATS_URL: nats.url,
        SDN_BUS_CREDENTIALS_DIR: nats.auth?.dir,
        SDN_HTTP_PORT: "not-a-port",
        SDN_DATA_DIR: dataDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(2);
    expect(output).toContain("SDN_HTTP_PORT");
  });

  it("does not attach to an unauthenticated server already on its port: it starts its own, authentication on", async () => {
    const squatter = await TestNatsServer.start();
    const port = await freePort();
    const ownData = mkdtempSync(join(tmpdir(), "sdn-start-own-"));
    const { NATS_URL: _unset, ...env } = process.env;
    const child = spawn(process.execPath, [launcher], {
      env: {
        ...env,
        SDN_NATS_PORT: String(squatter.port),
        SDN_HTTP_PORT: String(port),
        SDN_DATA_DIR: ownData,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    try {
      await waitFor(
        "readiness",
        async () =>
          (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined,
        60_000,
        200,
      );
      expect(output).toMatch(/started nats-server \(JetStream, authentication on/);
      expect(output).not.toContain(squatter.url);
      // The squatter saw nothing: no stream, no command.
      const spy = await connect({ servers: squatter.url });
      expect(await (await jetstreamManager(spy)).streams.names().next()).toEqual([]);
      await spy.close();
      expect(output).not.toMatch(/-----BEGIN NATS USER JWT-----|SUA[A-Z0-9]{20}/);
    } finally {
      const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exit).toBe(0);
      await squatter.dispose();
      rmSync(ownData, { recursive: true, force: true });
    }
  }, 90_000);
});
