import { mkdtempSync, rmSync } from "node:fs";
import { type Server, type Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OvsdbClient } from "./client.js";
import type { OvsdbError } from "./errors.js";

/** A fake OVSDB server: `reply` decides what to send back for each request it reads. */
async function fakeServer(reply: (req: { id: unknown; method: string }, socket: Socket) => void): Promise<{
  path: string;
  server: Server;
  dir: string;
}> {
  const dir = mkdtempSync(join(tmpdir(), "sdn-fake-ovsdb-"));
  const path = join(dir, "db.sock");
  const server = createServer((socket) => {
    let buf = "";
    socket.on("data", (d) => {
      buf += d.toString();
      // Our client sends one request per write and nothing nested across reads here.
      for (const m of buf.match(/\{"method".*?"id":\d+\}/g) ?? [])
        reply(JSON.parse(m) as { id: unknown; method: string }, socket);
      buf = "";
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, server, dir };
}

const opened: { server: Server; dir: string; client?: OvsdbClient }[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) {
    o.client?.close();
    o.server.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

async function clientOf(reply: Parameters<typeof fakeServer>[0], maxMessageBytes = 1024): Promise<OvsdbClient> {
  const fake = await fakeServer(reply);
  const client = await OvsdbClient.connect({
    endpoint: { kind: "unix", path: fake.path },
    maxMessageBytes,
    callTimeoutMs: 500,
    reconnect: false,
  });
  opened.push({ ...fake, client });
  return client;
}

const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "resolved",
    (e: OvsdbError) => e.code,
  );

describe("OvsdbClient refuses malformed and hostile answers", () => {
  it("non-JSON: MALFORMED_MESSAGE and the connection is dropped", async () => {
    const c = await clientOf((_req, s) => s.write("{not json at all}"));
    expect(await codeOf(c.listDbs())).toBe("MALFORMED_MESSAGE");
    expect(c.connected).toBe(false);
  });

  it("bytes that start no JSON value", async () => {
    const c = await clientOf((_req, s) => s.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
    expect(await codeOf(c.listDbs())).toBe("MALFORMED_MESSAGE");
  });

  it("an answer to an id never sent", async () => {
    const c = await clientOf((_req, s) => s.write(JSON.stringify({ id: 9999, result: ["x"], error: null })));
    expect(await codeOf(c.listDbs())).toBe("MALFORMED_MESSAGE");
  });

  it("an answer bigger than the limit, sent in pieces", async () => {
    const c = await clientOf((req, s) => {
      const big = JSON.stringify({ id: req.id, result: ["x".repeat(4096)], error: null });
      for (let i = 0; i < big.length; i += 500) s.write(big.slice(i, i + 500));
    });
    expect(await codeOf(c.listDbs())).toBe("MALFORMED_MESSAGE");
  });

  it("a result of the wrong shape, and a transact with too few results", async () => {
    const c = await clientOf((req, s) =>
      s.write(JSON.stringify({ id: req.id, result: { not: "a list" }, error: null })),
    );
    expect(await codeOf(c.listDbs())).toBe("MALFORMED_MESSAGE");
    expect(await codeOf(c.transact("Open_vSwitch", [{ op: "comment", comment: "x" }]))).toBe("MALFORMED_MESSAGE");
    expect(c.connected).toBe(true); // well-formed JSON-RPC, only a wrong answer
  });

  it("no answer: TIMEOUT, and a late answer afterwards is ignored, not fatal", async () => {
    let held: { id: unknown; s: Socket } | undefined;
    const c = await clientOf((req, s) => {
      if (req.method === "list_dbs" && !held) held = { id: req.id, s };
      else s.write(JSON.stringify({ id: req.id, result: ["Open_vSwitch"], error: null }));
    });
    expect(await codeOf(c.listDbs())).toBe("TIMEOUT");
    held!.s.write(JSON.stringify({ id: held!.id, result: ["late"], error: null }));
    expect(await c.listDbs()).toEqual(["Open_vSwitch"]);
  });

  it("answers the server's echo request with its params", async () => {
    let sock: Socket | undefined;
    const c = await clientOf((req, s) => {
      sock = s;
      s.write(JSON.stringify({ id: req.id, result: ["Open_vSwitch"], error: null }));
    });
    await c.listDbs();
    const answer = await new Promise<string>((resolve) => {
      sock!.once("data", (d) => resolve(d.toString()));
      sock!.write(JSON.stringify({ method: "echo", params: ["ping", 7], id: "e1" }));
    });
    expect(JSON.parse(answer)).toEqual({ result: ["ping", 7], error: null, id: "e1" });
  });

  it("drops a server that stops answering our echo", async () => {
    const fake = await fakeServer(() => undefined); // answers nothing, not even our echo
    const c = await OvsdbClient.connect({
      endpoint: { kind: "unix", path: fake.path },
      echoIntervalMs: 100,
      reconnect: false,
    });
    opened.push({ ...fake, client: c });
    const why = await new Promise<OvsdbError | undefined>((r) => c.once("disconnected", r));
    expect(why?.code).toBe("TIMEOUT");
  });
});
