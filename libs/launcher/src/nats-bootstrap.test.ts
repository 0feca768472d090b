import { freePort, waitFor } from "@sdn/testkit";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NatsServerMissingError, portAnswers, resolveNats } from "./nats-bootstrap.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "sdn-launcher-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("resolveNats", () => {
  it("uses NATS_URL when it is set, starting nothing", async () => {
    const r = await resolveNats({ NATS_URL: "nats://nats.example:4222" }, tempDir(), await freePort());
    expect(r).toEqual({ url: "nats://nats.example:4222", process: undefined });
  });

  it("says what to install when no server answers and nats-server is missing", async () => {
    const port = await freePort();
    const err = await resolveNats({ PATH: tempDir() }, tempDir(), port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerMissingError);
    expect((err as Error).message).toContain("apt-get install nats-server");
    expect((err as Error).message).toContain("NATS_URL");
  });

  it("starts an embedded nats-server with JetStream, its data under the data directory", async () => {
    const port = await freePort();
    const dataDir = tempDir();
    const r = await resolveNats({ PATH: "/usr/sbin:/usr/bin:/usr/local/bin" }, dataDir, port);
    try {
      expect(r.url).toBe(`nats://127.0.0.1:${port}`);
      expect(await portAnswers("127.0.0.1", port)).toBe(true);
      const { connect } = await import("@nats-io/transport-node");
      const nc = await connect({ servers: r.url });
      const { jetstreamManager } = await import("@nats-io/jetstream");
      const info = await (await jetstreamManager(nc)).getAccountInfo();
      expect(info.limits).toBeDefined();
      await nc.close();
    } finally {
      r.process?.kill("SIGTERM");
      await waitFor("nats-server exit", () => (r.process?.exitCode !== null ? true : undefined));
    }
  });
});
