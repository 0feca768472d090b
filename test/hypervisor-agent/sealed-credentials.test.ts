import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { CommandClient, readSealingKey, sealNewHost } from "@sdn/bus";
import { AddHost, STREAMS, type NewHost } from "@sdn/contracts";
import { freePort, TestNatsServer, waitFor } from "@sdn/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * Host credentials never rest in plain text on the bus: AddHost secrets carrying random
 * markers go in through the HTTP API and straight on the bus (sealed), the hosts are
 * added, and then no marker is found in the nats-server's files on disk, in any KV value,
 * answer or event, or in the services' logs (debug level). The agent and gateway run as
 * their own processes so that their real stdout/stderr is what is searched.
 */

let nats: TestNatsServer;
let nc: NatsConnection;
let dataDir: string;
let baseUrl: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const children: ChildProcess[] = [];
let logs = "";

const marker = () => `MARKER${randomBytes(12).toString("hex")}`;
const keyMarker = marker();
const passwordMarker = marker();
const busKeyMarker = marker();
const plainMarker = marker();
const fakeKey = (m: string) =>
  `-----BEGIN OPENSSH PRIVATE KEY-----\n${randomBytes(40).toString("base64")}${m}\n-----END OPENSSH PRIVATE KEY-----\n`;

const startChild = (main: string, env: Record<string, string>) => {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=sdn-source", main], {
    env: { PATH: process.env["PATH"] ?? "", NATS_URL: nats.url, LOG_LEVEL: "debug", SDN_DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (logs += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (logs += d.toString()));
  children.push(child);
};

const stopChildren = async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
        }),
    ),
  );
};

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });

/** Every message of a stream, as text. */
const streamText = async (stream: string): Promise<string> => {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const out: string[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m === null) continue;
    out.push(m.subject, ...[...(m.header?.keys() ?? [])].map((k) => `${k}: ${m.header?.get(k) ?? ""}`));
    out.push(new TextDecoder().decode(m.data));
  }
  return out.join("\n");
};

/** Every value of every KV bucket, as text. */
const kvText = async (): Promise<string> => {
  const kvm = new Kvm(nc);
  const out: string[] = [];
  for await (const status of kvm.list()) {
    const kv = await kvm.open(status.bucket);
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (e !== null) out.push(`${status.bucket}/${key}`, e.string());
    }
  }
  return out.join("\n");
};

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  dataDir = mkdtempSync(join(tmpdir(), "sdn-sealed-"));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  startChild("services/hypervisor-agent/src/main.ts", { SDN_AGENT_SIMULATOR: "true" });
  startChild("services/api-gateway/src/main.ts", {
    SDN_HTTP_PORT: String(port),
    SDN_ADMIN_TOKEN: adminToken,
    SDN_COMMAND_WAIT_MS: "20000",
  });
  await waitFor("the agent's sealing key", () => readSealingKey(nc).catch(() => undefined), 30_000, 200);
  await waitFor("the gateway", () => fetch(`${baseUrl}/healthz`).then((r) => r.ok || undefined), 30_000, 200);
}, 60_000);

afterAll(async () => {
  await stopChildren();
  await nc?.close();
  await nats?.dispose();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("AddHost credentials sealed to the agent", () => {
  it("adds hosts whose secrets then appear nowhere on the bus, on disk or in the logs", async () => {
    const post = async (body: NewHost) => {
      const res = await fetch(`${baseUrl}/v1/hosts`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as { id: string; state: string };
    };
    const kvm = await post({
      name: "sealed-kvm",
      hypervisor: "kvm",
      address: "10.97.0.13",
      username: "root",
      privateKey: fakeKey(keyMarker),
      passphrase: `${keyMarker}-passphrase`,
      trustHostKeyOnFirstContact: true,
    });
    const xen = await post({
      name: "sealed-xen",
      hypervisor: "xenserver",
      address: "10.97.0.11",
      username: "root",
      password: passwordMarker,
    });
    expect([kvm.state, xen.state]).toEqual(["Up", "Up"]);

    // An external system on the bus seals the same way (libs/bus sealNewHost).
    const commands = new CommandClient(nc);
    const viaBus = await commands.send(
      AddHost,
      await sealNewHost(nc, {
        name: "sealed-bus",
        hypervisor: "kvm",
        address: "10.97.0.14",
        username: "root",
        privateKey: fakeKey(busKeyMarker),
        trustHostKeyOnFirstContact: true,
      }),
      { role: "admin", timeoutMs: 20_000 },
    );
    expect(viaBus).toMatchObject({ ok: true, data: { name: "sealed-bus", state: "Up" } });

    // A plain secret on the bus is refused, saying why, and nothing is stored.
    const plain = { name: "plain-xen", hypervisor: "xenserver", address: "10.97.0.12", username: "root" } as const;
    const refused = await commands.send(
      AddHost,
      { ...plain, password: plainMarker },
      {
        role: "admin",
        timeoutMs: 20_000,
      },
    );
    expect(refused).toMatchObject({
      ok: false,
      error: { code: "PLAINTEXT_SECRET", details: { fields: ["password"] } },
    });

    // Sealed credentials moved onto another host's command do not open.
    const sealed = await sealNewHost(nc, { ...plain, password: randomBytes(8).toString("hex") });
    const moved = await commands.send(AddHost, { ...sealed, address: "10.97.0.99" }, { role: "admin" });
    expect(moved).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    const listed = await fetch(`${baseUrl}/v1/hosts`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(((await listed.json()) as { hosts: { name: string }[] }).hosts.map((h) => h.name).sort()).toEqual([
      "sealed-bus",
      "sealed-kvm",
      "sealed-xen",
    ]);

    const onBus = [
      await streamText(STREAMS.commands.name),
      await streamText(STREAMS.answers.name),
      await streamText(STREAMS.events.name),
      await kvText(),
    ].join("\n");
    // The command stream does hold the AddHost commands (sealed) and the refused plain one.
    expect(onBus).toContain("sealedCredentials");
    expect(onBus).toContain(plainMarker);
    await stopChildren();
    expect(logs).toContain("command answered");
    // The server writes everything down when it stops; then its files are read as bytes.
    await nats.stop();
    const disk = filesUnder(nats.storeDir).map((f) => readFileSync(f).toString("latin1"));
    expect(
      disk.some((bytes) => bytes.includes(plainMarker)),
      "the plain marker is on disk: the search works",
    ).toBe(true);
    for (const m of [keyMarker, passwordMarker, busKeyMarker]) {
      expect(onBus.includes(m), `${m} on the bus`).toBe(false);
      expect(logs.includes(m), `${m} in a log`).toBe(false);
      expect(disk.filter((bytes) => bytes.includes(m)).length, `${m} on disk`).toBe(0);
    }
    expect(logs.includes(plainMarker), "the refused plain secret in a log").toBe(false);
    await nats.restart();
  }, 90_000);
});
