import { connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startHarness, type Harness } from "../test/harness.js";

let h: Harness;
let port: number;
let token: string;

beforeAll(async () => {
  h = await startHarness({ commandWaitMs: 200 });
  token = (await h.tenant()).token;
  const address = await h.app.listen({ host: "127.0.0.1", port: 0 });
  port = Number(new URL(address).port);
});
afterAll(async () => {
  await h?.close();
});

/** A deterministic generator, so a failure can be replayed from its seed. */
const rng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};

const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });

describe("fuzzing the gateway", () => {
  it("answers thousands of random and malformed requests with 4xx only, and keeps answering", async () => {
    const r = rng(20261124);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const paths = [
      "/v1/accounts",
      "/v1/accounts/x",
      "/v1/accounts/../../etc/passwd",
      "/v1/accounts/%ff%fe/tokens",
      "/v1/tokens/abc",
      "/v1/jobs/%00",
      "/v1/jobs/" + "j".repeat(300),
      "/v1/services/nope/health-checks",
      "/v1/nope",
      "/v1/accounts?x=1&x=2",
    ];
    const bodies: (() => string)[] = [
      () => "{not json",
      () => JSON.stringify({ name: "x".repeat(Math.floor(r() * 5000)) }),
      () => JSON.stringify({ name: 42, extra: [1, 2, 3] }),
      () => JSON.stringify(deep(200 + Math.floor(r() * 3000))),
      () => JSON.stringify([{ name: "a" }]),
      () => "null",
      () => '"\\ud800"',
      () => JSON.stringify({ name: "\u0000\u202e" }),
      () => JSON.stringify({ __proto__: { admin: true }, name: "p" }),
      () => String.fromCharCode(...Array.from({ length: 64 }, () => Math.floor(r() * 256))),
    ];
    const headerSets = [
      () => bearer(token),
      () => bearer(h.adminToken),
      () => ({}),
      () => ({ authorization: "Bearer " + "A".repeat(600) }),
      () => ({ authorization: "Bearer \u00ff\u00fe" }),
    ];
    const contentTypes = ["application/json", "text/plain", "application/json; charset=latin1", "multipart/form-data"];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 2500; i++) {
      const method = pick(["GET", "POST", "DELETE", "PATCH", "PUT"] as const);
      const res = await h.app.inject({
        method,
        url: pick(paths),
        headers: {
          ...pick(headerSets)(),
          "content-type": pick(contentTypes),
          "idempotency-key": r() < 0.2 ? "k\u0001" : "k",
        },
        payload: method === "GET" || method === "DELETE" ? undefined : pick(bodies)(),
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      expect(res.statusCode, `${method} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
      expect(res.statusCode).toBeGreaterThanOrEqual(200);
      if (res.statusCode >= 400) expect(res.body).toMatch(/^{"error":{"code":"[A-Z_]+"/);
    }
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
  });

  it("survives invalid UTF-8 and broken HTTP on the raw socket, then still answers", async () => {
    const raw = (payload: Buffer) =>
      new Promise<string>((resolve) => {
        const s = tcpConnect({ host: "127.0.0.1", port }, () => s.end(payload));
        let out = "";
        s.on("data", (d) => (out += d.toString("latin1")));
        s.on("close", () => resolve(out));
        s.on("error", () => resolve(out));
      });
    const body = Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d]);
    const reqs = [
      Buffer.concat([
        Buffer.from(
          `POST /v1/accounts HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${h.adminToken}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
        ),
        body,
      ]),
      Buffer.from("GARBAGE\r\n\r\n"),
      Buffer.from("GET /v1/accounts HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n"),
      Buffer.from(`GET /${"a".repeat(20000)} HTTP/1.1\r\nhost: x\r\n\r\n`),
    ];
    for (const req of reqs) {
      const out = await raw(req);
      expect(out).not.toMatch(/^HTTP\/1\.1 5/);
    }
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(ok.status).toBe(200);
  });
});
