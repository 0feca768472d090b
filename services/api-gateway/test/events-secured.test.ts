import { EventPublisher } from "@sdn/bus";
import { defineEvent } from "@sdn/contracts";
import type { NatsConnection } from "@nats-io/transport-node";
import Type from "typebox";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bearer, startHarness, type Harness } from "./harness.js";

const Touched = defineEvent({
  service: "network-guru",
  name: "TestTouched",
  summary: "test",
  data: Type.Object({ label: Type.String() }),
});

let h: Harness;
let guru: NatsConnection;
let base: string;

beforeAll(async () => {
  h = await startHarness({ secured: true });
  guru = await h.nats.connectAs("network-guru");
  base = await h.app.listen({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await guru?.close();
  await h?.close();
});

// With authentication on, the gateway may subscribe only to the subjects its credentials name:
// a stream that asked for more got a permissions violation and never saw an event.
it("streams a service's events when the bus has authentication on", async () => {
  const ctrl = new AbortController();
  const res = await fetch(`${base}/v1/events`, { headers: bearer(h.adminToken), signal: ctrl.signal });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  const events = new EventPublisher(guru);
  const deadline = Date.now() + 5000;
  while (!text.includes("event: TestTouched") && Date.now() < deadline) {
    await events.publish(Touched, { label: "seen" }, {});
    const chunk = await Promise.race([
      reader.read(),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 250)),
    ]);
    if (chunk?.value) text += decoder.decode(chunk.value);
  }
  ctrl.abort();
  expect(text).toContain("event: TestTouched");
  expect(text).toContain('"label":"seen"');
});
