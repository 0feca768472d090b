import { jetstreamManager } from "@nats-io/jetstream";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { freePort, TestNatsServer, waitFor } from "@sdn/testkit";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NatsServerMissingError, resolveNats, type EmbeddedNats } from "./nats-bootstrap.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "sdn-launcher-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const PATH = "/usr/sbin:/usr/bin:/usr/local/bin";

const stop = async (r: EmbeddedNats) => {
  r.process?.kill("SIGTERM");
  await waitFor("nats-server exit", () => (r.process?.exitCode !== null ? true : undefined));
};

describe("resolveNats", () => {
  it("uses NATS_URL when it is set, starting nothing", async () => {
    const r = await resolveNats({ NATS_URL: "nats://nats.example:4222" }, tempDir(), await freePort());
    expect(r).toEqual({ url: "nats://nats.example:4222", process: undefined, credentials: undefined });
  });

  it("says what to install when nats-server is missing", async () => {
    const err = await resolveNats({ PATH: tempDir() }, tempDir(), await freePort()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerMissingError);
    expect((err as Error).message).toContain("apt-get install nats-server");
    expect((err as Error).message).toContain("NATS_URL");
  });

  it("starts its own nats-server with authentication on and per-service credentials kept 0600", async () => {
    const port = await freePort();
    const dataDir = tempDir();
    const r = await resolveNats({ PATH }, dataDir, port);
    try {
      expect(r.url).toBe(`nats://127.0.0.1:${port}`);
      const anonymous = await connect({ servers: r.url, maxReconnectAttempts: 0 }).catch((e: unknown) => e);
      expect(String(anonymous)).toMatch(/Authorization Violation/);
      const credsPath = r.credentials?.credsPath("network-guru") as string;
      expect(statSync(credsPath).mode & 0o777).toBe(0o600);
      expect(statSync(r.credentials?.dir as string).mode & 0o777).toBe(0o700);
      const nc = await connect({
        servers: r.url,
        inboxPrefix: "_INBOX.network-guru",
        authenticator: credsAuthenticator(readFileSync(credsPath)),
      });
      const info = await (await jetstreamManager(nc)).getAccountInfo();
      expect(info.limits).toBeDefined();
      await nc.close();
    } finally {
      await stop(r);
    }
  });

  it("never attaches to a server it did not start: with the port taken it starts its own elsewhere", async () => {
    const squatter = await TestNatsServer.start();
    const r = await resolveNats({ PATH }, tempDir(), squatter.port);
    try {
      expect(r.process).toBeDefined();
      expect(r.url).not.toBe(squatter.url);
      const anonymous = await connect({ servers: r.url, maxReconnectAttempts: 0 }).catch((e: unknown) => e);
      expect(String(anonymous)).toMatch(/Authorization Violation/);
    } finally {
      await stop(r);
      await squatter.dispose();
    }
  });
});
