import { bindHandler, CommandServer, EventPublisher, silentLogger } from "@sdn/bus";
import { defineCommand, defineEvent, eventSubject } from "@sdn/contracts";
import type { NatsConnection } from "@nats-io/transport-node";
import { connect as tcpConnect } from "node:net";
import Type from "@sdn/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandRoute } from "./command-route.js";
import { bearer, startHarness, type Harness } from "../test/harness.js";

const Touch = defineCommand({
  service: "network-guru",
  name: "TestTouch",
  delivery: "durable",
  summary: "test",
  request: Type.Object({ label: Type.String() }),
  response: Type.Object({ label: Type.String() }),
});
const Touched = defineEvent({
  service: "network-guru",
  name: "TestTouched",
  summary: "test",
  data: Type.Object({ label: Type.String() }),
});

let h: Harness;
let server: CommandServer;
let base: string;

beforeAll(async () => {
  h = await startHarness({ eventStreams: { perAccount: 2, bufferBytes: 64 * 1024 } });
  commandRoute(h.app, {
    method: "POST",
    url: "/v1/touches",
    command: Touch,
    kind: "mutation",
    tags: ["Test"],
    summary: "touch",
    body: Type.Object({ label: Type.String() }, { additionalProperties: false }),
    toCommand: ({ body }) => body,
  });
  const events = new EventPublisher(h.nc);
  server = new CommandServer(h.nc, {
    service: "network-guru",
    logger: silentLogger,
    handlers: [
      bindHandler(Touch, async (req, ctx) => {
        await events.publish(Touched, { label: req.label }, { ...(ctx.accountId ? { accountId: ctx.accountId } : {}) });
        return { data: req, details: "touched" };
      }),
    ],
  });
  await server.start();
  base = await h.app.listen({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await server?.stop();
  await h?.close();
});

/** Reads the event stream until `until` matches the text so far (or gives up). */
const readStream = async (token: string, until: RegExp, act: () => Promise<unknown>) => {
  const ctrl = new AbortController();
  const res = await fetch(`${base}/v1/events`, { headers: bearer(token), signal: ctrl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  await reader.read().then(({ value }) => (text += decoder.decode(value)));
  await act();
  // One read outstanding at a time: a read left behind by a timed-out race would take the
  // next chunk and lose it.
  let pending = reader.read();
  const deadline = Date.now() + 5000;
  while (!until.test(text) && Date.now() < deadline) {
    const chunk = await Promise.race([pending, new Promise<undefined>((r) => setTimeout(() => r(undefined), 500))]);
    if (chunk?.done === true) break;
    if (chunk !== undefined) {
      text += decoder.decode(chunk.value);
      pending = reader.read();
    }
  }
  // The read still outstanding ends in an AbortError: expected, not a failure.
  pending.catch(() => undefined);
  ctrl.abort();
  return text;
};

describe("GET /v1/events", () => {
  it("streams the tenant's own events and answers, and not another tenant's", async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const text = await readStream(a.token, /"label":"mine"[\s\S]*"label":"mine"/, async () => {
      const theirs = await fetch(`${base}/v1/touches`, {
        method: "POST",
        headers: { ...bearer(b.token), "content-type": "application/json" },
        body: JSON.stringify({ label: "theirs" }),
      });
      expect(theirs.status).toBe(200);
      const mine = await fetch(`${base}/v1/touches`, {
        method: "POST",
        headers: { ...bearer(a.token), "content-type": "application/json" },
        body: JSON.stringify({ label: "mine" }),
      });
      expect(mine.status).toBe(200);
    });
    expect(text).toContain("event: TestTouched");
    expect(text).toContain("event: answer");
    expect(text).toContain('"label":"mine"');
    expect(text).not.toContain("theirs");
  });

  it("needs a token", async () => {
    expect((await fetch(`${base}/v1/events`)).status).toBe(401);
  });
});

/** Opens a stream and reads it to its end (or until `ms`); whether the server ended it. */
const openStream = async (token: string) => {
  const ctrl = new AbortController();
  const res = await fetch(`${base}/v1/events`, { headers: bearer(token), signal: ctrl.signal });
  const ended = (ms: number): Promise<{ ended: boolean; text: string }> => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const timeout = new Promise<{ ended: boolean; text: string }>((r) =>
      setTimeout(() => r({ ended: false, text }), ms),
    );
    const read = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { ended: true, text };
        text += decoder.decode(value);
      }
    })();
    return Promise.race([read, timeout]);
  };
  return { res, abort: () => ctrl.abort(), ended };
};

describe("event stream limits", () => {
  it("caps streams per account: tenant A at its cap gets 429, tenant B still gets a stream", async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const open = [await openStream(a.token), await openStream(a.token)];
    expect(open.map((s) => s.res.status)).toEqual([200, 200]);
    const third = await fetch(`${base}/v1/events`, { headers: bearer(a.token) });
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({
      error: { code: "RATE_LIMITED", details: { limit: "eventStreamsPerAccount", max: 2 } },
    });
    const theirs = await openStream(b.token);
    expect(theirs.res.status).toBe(200);
    // Closing one of A's streams makes room again.
    open[0]?.abort();
    await new Promise((r) => setTimeout(r, 200));
    const again = await openStream(a.token);
    expect(again.res.status).toBe(200);
    for (const s of [open[1], theirs, again]) s?.abort();
  });

  it("ends an open stream within a second or two of its token being revoked", async () => {
    const t = await h.tenant();
    const extra = await h.app.inject({
      method: "POST",
      url: `/v1/accounts/${t.accountId}/tokens`,
      headers: bearer(t.token),
      payload: { name: "streaming" },
    });
    const { id, token } = extra.json<{ id: string; token: string }>();
    const stream = await openStream(token);
    expect(stream.res.status).toBe(200);
    const kept = await openStream(t.token);
    const revoked = Date.now();
    const del = await h.app.inject({ method: "DELETE", url: `/v1/tokens/${id}`, headers: bearer(t.token) });
    expect(del.statusCode).toBe(204);
    const result = await stream.ended(3000);
    expect(result.ended).toBe(true);
    expect(Date.now() - revoked).toBeLessThan(2000);
    expect(result.text).toContain("event: end");
    // The account's other token keeps its stream.
    expect((await kept.ended(300)).ended).toBe(false);
    kept.abort();
  });

  it("ends an open stream when its token expires, and the token is refused from then on", async () => {
    const t = await h.tenant();
    const extra = await h.app.inject({
      method: "POST",
      url: `/v1/accounts/${t.accountId}/tokens`,
      headers: bearer(t.token),
      payload: { name: "short", expiresInSeconds: 2 },
    });
    expect(extra.statusCode).toBe(201);
    const { token, expiresAt } = extra.json<{ token: string; expiresAt: string }>();
    const stream = await openStream(token);
    expect(stream.res.status).toBe(200);
    const result = await stream.ended(6000);
    expect(result.ended).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expect(result.text).toContain('event: end\ndata: {"reason":"the token expired"}');
    const again = await fetch(`${base}/v1/events`, { headers: bearer(token) });
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({
      error: { code: "UNAUTHORIZED", message: expect.stringMatching(/expired at/) },
    });
  });

  it("cuts a reader that does not read once more than the buffer bound waits for it", async () => {
    const t = await h.tenant();
    const url = new URL(base);
    const socket = tcpConnect({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(`GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\n\r\n`);
    let received = 0;
    socket.on("data", (d: Buffer) => (received += d.length));
    socket.on("error", () => undefined); // a cut stream may end in a reset
    socket.pause(); // reads nothing while the events pour in
    const closed = new Promise<boolean>((r) => socket.once("close", () => r(true)));
    await new Promise((r) => setTimeout(r, 200));
    // 32 MiB of the tenant's events: far more than socket buffers and the 64 KiB bound hold.
    const payload = JSON.stringify({ type: "Bulk", eventId: "e", accountId: t.accountId, data: "x".repeat(64 * 1024) });
    for (let i = 0; i < 512; i++) {
      h.nc.publish(eventSubject("network-guru", "Bulk", t.accountId), payload);
      if (i % 32 === 0) await h.nc.flush();
    }
    await h.nc.flush();
    await new Promise((r) => setTimeout(r, 1000));
    // Now read: a stream that was cut ends after what was sent before the cut; one that was
    // not would go on delivering all 32 MiB and stay open.
    socket.resume();
    const ended = await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    expect(ended).toBe(true);
    expect(received).toBeLessThan(16 * 1024 * 1024);
    socket.destroy();
  });
});

// With authentication on, the gateway may subscribe only to the subjects its credentials name:
// a stream that asked for more got a permissions violation and never saw an event.
describe("GET /v1/events on a bus with authentication on", () => {
  let secured: Harness;
  let guru: NatsConnection;
  let securedBase: string;
  beforeAll(async () => {
    secured = await startHarness({ secured: true });
    guru = await secured.nats.connectAs("network-guru");
    securedBase = await secured.app.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await guru?.close();
    await secured?.close();
  });

  it("streams a service's events", async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${securedBase}/v1/events`, { headers: bearer(secured.adminToken), signal: ctrl.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    const events = new EventPublisher(guru);
    // One read outstanding at a time: a read left behind by a timed-out race would take the
    // next chunk and lose it.
    let pending = reader.read();
    const deadline = Date.now() + 5000;
    while (!text.includes("event: TestTouched") && Date.now() < deadline) {
      await events.publish(Touched, { label: "seen" }, {});
      const chunk = await Promise.race([pending, new Promise<undefined>((r) => setTimeout(() => r(undefined), 250))]);
      if (chunk?.done === true) break;
      if (chunk !== undefined) {
        text += decoder.decode(chunk.value);
        pending = reader.read();
      }
    }
    pending.catch(() => undefined); // ends in an AbortError: expected
    ctrl.abort();
    expect(text).toContain("event: TestTouched");
    expect(text).toContain('"label":"seen"');
  });
});
