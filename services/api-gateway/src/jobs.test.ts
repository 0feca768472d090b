import { bindHandler, CommandServer, silentLogger } from "@sdn/bus";
import { CommandError, defineCommand } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import Type from "@sdn/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandRoute } from "./command-route.js";
import { bearer, startHarness, type Harness } from "../test/harness.js";

const Widget = Type.Object(
  { id: Type.String(), name: Type.String(), accountId: Type.String() },
  { additionalProperties: false },
);
const MakeWidget = defineCommand({
  service: "vr-manager",
  name: "TestMakeWidget",
  delivery: "durable",
  summary: "test",
  request: Type.Object({ name: Type.String(), delayMs: Type.Integer() }, { additionalProperties: false }),
  response: Widget,
});
const ReadWidget = defineCommand({
  service: "ovs-element",
  name: "TestReadWidget",
  delivery: "durable",
  summary: "test (nobody serves it)",
  request: Type.Object({ id: Type.String() }),
  response: Widget,
});

let h: Harness;
let server: CommandServer;
const runs: string[] = [];

beforeAll(async () => {
  h = await startHarness({ commandWaitMs: 400 });
  commandRoute(h.app, {
    method: "POST",
    url: "/v1/widgets",
    command: MakeWidget,
    kind: "mutation",
    successStatus: 201,
    tags: ["Test"],
    summary: "make a widget",
    body: Type.Object(
      { name: Type.String({ minLength: 1, maxLength: 20 }), delayMs: Type.Optional(Type.Integer({ minimum: 0 })) },
      { additionalProperties: false },
    ),
    toCommand: ({ body }) => ({ name: body.name, delayMs: body.delayMs ?? 0 }),
  });
  commandRoute(h.app, {
    method: "GET",
    url: "/v1/widgets/:id",
    command: ReadWidget,
    kind: "read",
    tags: ["Test"],
    summary: "read a widget",
    params: Type.Object({ id: Type.String() }),
    toCommand: ({ params }) => ({ id: params.id }),
  });
  server = new CommandServer(h.nc, {
    service: "vr-manager",
    logger: silentLogger,
    handlers: [
      bindHandler(MakeWidget, async (req, ctx) => {
        runs.push(req.name);
        if (req.name === "taken") throw new CommandError("CONFLICT", "a widget named taken exists");
        await new Promise((r) => setTimeout(r, req.delayMs));
        return { data: { id: `w-${runs.length}`, name: req.name, accountId: ctx.accountId ?? "" }, details: "made" };
      }),
    ],
  });
  await server.start();
});
afterAll(async () => {
  await server?.stop();
  await h?.close();
});

const post = (token: string, payload: unknown, headers: Record<string, string> = {}) =>
  h.app.inject({
    method: "POST",
    url: "/v1/widgets",
    headers: { ...bearer(token), ...headers },
    payload: payload as object,
  });

describe("mutations as async jobs", () => {
  it("answers 201 with the resource when the service answers in time, carrying the caller's account", async () => {
    const t = await h.tenant();
    const res = await post(t.token, { name: "fast" });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ name: "fast", accountId: t.accountId });
  });

  it("answers 202 with a job when the service is slow; the job then succeeds", async () => {
    const t = await h.tenant();
    const res = await post(t.token, { name: "slow", delayMs: 1200 });
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json<{ jobId: string }>();
    expect(res.headers.location).toBe(`/v1/jobs/${jobId}`);
    const pending = await h.app.inject({ url: `/v1/jobs/${jobId}`, headers: bearer(t.token) });
    expect(pending.json()).toMatchObject({ id: jobId, status: "pending", command: "vr-manager.TestMakeWidget" });
    const other = await h.tenant();
    expect((await h.app.inject({ url: `/v1/jobs/${jobId}`, headers: bearer(other.token) })).statusCode).toBe(404);
    const done = await waitFor("job to finish", async () => {
      const j = (await h.app.inject({ url: `/v1/jobs/${jobId}`, headers: bearer(t.token) })).json<{ status: string }>();
      return j.status === "pending" ? undefined : j;
    });
    expect(done).toMatchObject({ status: "succeeded", result: { name: "slow", accountId: t.accountId } });
  });

  it("maps a failed answer to its status and code", async () => {
    const t = await h.tenant();
    const res = await post(t.token, { name: "taken" });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: { code: "CONFLICT", message: "a widget named taken exists" } });
  });

  it("runs a command once for one Idempotency-Key, however many retries, concurrent or not", async () => {
    const t = await h.tenant();
    const before = runs.filter((r) => r === "idem").length;
    const key = { "idempotency-key": `key-${Date.now()}` };
    const results = await Promise.all([1, 2, 3].map(() => post(t.token, { name: "idem", delayMs: 100 }, key)));
    const again = await post(t.token, { name: "idem", delayMs: 100 }, key);
    expect(runs.filter((r) => r === "idem").length - before).toBe(1);
    for (const r of [...results, again]) {
      expect(r.statusCode).toBe(201);
      expect(r.json()).toEqual(results[0]?.json());
    }
    const misuse = await post(t.token, { name: "other" }, key);
    expect(misuse.statusCode).toBe(422);
    // Keys are per account: another tenant's identical key is its own.
    const t2 = await h.tenant();
    expect((await post(t2.token, { name: "idem" }, key)).statusCode).toBe(201);
  });

  it("gives a retried slow call the same job", async () => {
    const t = await h.tenant();
    const key = { "idempotency-key": `slow-${Date.now()}` };
    const first = await post(t.token, { name: "slow-idem", delayMs: 1000 }, key);
    const second = await post(t.token, { name: "slow-idem", delayMs: 1000 }, key);
    expect(first.statusCode).toBe(202);
    expect([200, 201, 202]).toContain(second.statusCode);
    if (second.statusCode === 202) expect(second.json()).toEqual(first.json());
    expect(runs.filter((r) => r === "slow-idem")).toHaveLength(1);
  });

  it("answers a read that no service answers with 504 naming the service and command", async () => {
    const t = await h.tenant();
    const res = await h.app.inject({ url: "/v1/widgets/w-1", headers: bearer(t.token) });
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({ error: { code: "TIMEOUT" } });
    expect(res.json<{ error: { message: string } }>().error.message).toContain(
      "ovs-element did not answer TestReadWidget",
    );
  });

  it("refuses a bad body before anything reaches the bus", async () => {
    const t = await h.tenant();
    const before = runs.length;
    const res = await post(t.token, { name: "", delayMs: -1, color: "red" });
    expect(res.statusCode).toBe(400);
    const paths = res
      .json<{ error: { details: { issues: { path: string }[] } } }>()
      .error.details.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["body", "body/name", "body/delayMs"]));
    expect(runs.length).toBe(before);
  });
});
