import { defineCommand, requestSubject } from "@sdn/contracts";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import Type from "@sdn/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandClient, GATEWAY_ORIGIN } from "./command-client.js";
import { bindHandler } from "./dispatch.js";
import { NoResponderError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { registerMicro, type MicroService } from "./micro.js";

const Whoami = defineCommand({
  service: "network-guru",
  name: "TestWhoami",
  delivery: "request",
  summary: "test read",
  request: Type.Object({ n: Type.Integer() }, { additionalProperties: false }),
  response: Type.Object({ n: Type.Integer(), accountId: Type.String(), role: Type.String() }),
});
const Unserved = defineCommand({ ...Whoami, service: "vr-manager", name: "TestUnserved" });

const bus = useNatsServer();
let micro: MicroService;
const handled: string[] = [];

beforeAll(async () => {
  micro = await registerMicro(bus.nc, {
    name: "network-guru",
    version: "1.0.0",
    description: "test",
    instanceId: "guru-t",
    logger: silentLogger,
    health: () => Promise.resolve({ status: "up" }),
    requests: {
      service: "network-guru",
      handlers: [
        bindHandler(Whoami, async (req, ctx) => {
          handled.push(ctx.commandId);
          return { data: { n: req.n, accountId: ctx.accountId ?? "-", role: ctx.role }, details: "me" };
        }),
      ],
    },
  });
});

afterAll(async () => {
  await micro.service.stop();
});

describe("request tier endpoints", () => {
  it("answers a read through CommandClient without storing it, identity from the origin", async () => {
    const gw = await new CommandClient(bus.nc, GATEWAY_ORIGIN).send(
      Whoami,
      { n: 1 },
      { accountId: "a1", role: "admin" },
    );
    expect(gw).toMatchObject({ ok: true, data: { n: 1, accountId: "a1", role: "admin" } });
    // An account origin is that tenant whatever headers say.
    const tenant = await new CommandClient(bus.nc, { kind: "account", accountId: "t-1" }).send(
      Whoami,
      { n: 2 },
      { accountId: "other", role: "admin" },
    );
    expect(tenant).toMatchObject({ ok: true, data: { n: 2, accountId: "t-1", role: "tenant" } });
    const admin = await new CommandClient(bus.nc, { kind: "admin" }).send(Whoami, { n: 3 }, { accountId: "a2" });
    expect(admin).toMatchObject({ ok: true, data: { accountId: "a2", role: "admin" } });
  });

  it("validates the body as the durable tier does", async () => {
    const bad = await new CommandClient(bus.nc).send(Whoami, { n: "x" } as never);
    expect(bad).toMatchObject({ ok: false, error: { code: "INVALID_COMMAND" } });
  });

  it("refuses a subject of no known origin without running it", async () => {
    const before = handled.length;
    const reply = await bus.nc.request("sdn.req.network-guru.intruder.TestWhoami", JSON.stringify({ n: 1 }), {
      timeout: 2_000,
    });
    expect(reply.json()).toMatchObject({ ok: false, error: { code: "INVALID_COMMAND" } });
    expect(handled.length).toBe(before);
  });

  it("counts each endpoint in $SRV.STATS and lists both origin shapes in $SRV.INFO", async () => {
    const info = (await bus.nc.request("$SRV.INFO.network-guru", "", { timeout: 1000 })).json<{
      endpoints: { name: string; subject: string; queue_group: string }[];
    }>();
    expect(info.endpoints).toEqual(
      expect.arrayContaining([
        {
          name: "TestWhoami",
          subject: "sdn.req.network-guru.*.TestWhoami",
          queue_group: "network-guru",
          metadata: expect.anything(),
        },
        {
          name: "TestWhoami-acct",
          subject: "sdn.req.network-guru.acct.*.TestWhoami",
          queue_group: "network-guru",
          metadata: expect.anything(),
        },
      ]),
    );
    await new CommandClient(bus.nc).send(Whoami, { n: 9 });
    const stats = (await bus.nc.request("$SRV.STATS.network-guru", "", { timeout: 1000 })).json<{
      endpoints: { name: string; num_requests: number }[];
    }>();
    const named = stats.endpoints.find((e) => e.name === "TestWhoami");
    const acct = stats.endpoints.find((e) => e.name === "TestWhoami-acct");
    expect(named?.num_requests).toBeGreaterThanOrEqual(4);
    expect(acct?.num_requests).toBe(1);
  });

  it("fails at once with UNAVAILABLE when no replica serves the read", async () => {
    const started = Date.now();
    const err = await new CommandClient(bus.nc).send(Unserved, { n: 1 }, { timeoutMs: 4_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoResponderError);
    expect(err).toMatchObject({
      code: "UNAVAILABLE",
      subject: requestSubject("vr-manager", "TestUnserved", GATEWAY_ORIGIN),
    });
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
