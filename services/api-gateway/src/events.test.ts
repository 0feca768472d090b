import { bindHandler, CommandServer, EventPublisher, silentLogger } from "@sdn/bus";
import { defineCommand, defineEvent } from "@sdn/contracts";
import Type from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandRoute } from "./command-route.js";
import { bearer, startHarness, type Harness } from "./test-support/harness.js";

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
  h = await startHarness();
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
  const deadline = Date.now() + 5000;
  while (!until.test(text) && Date.now() < deadline) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)),
    ]);
    if (chunk?.value) text += decoder.decode(chunk.value);
  }
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
