import { defineCommand } from "@sdn/contracts";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import Type from "@sdn/typebox";
import { describe, expect, it } from "vitest";
import { bindHandler } from "./dispatch.js";
import { CommandTimeoutError, NoResponderError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { registerMicro } from "./micro.js";
import { request, serveRequests } from "./request-tier.js";
import { ensureStreams } from "./streams.js";

const Ping = defineCommand({
  service: "hypervisor-agent",
  name: "Ping",
  delivery: "request",
  summary: "test agent command",
  request: Type.Object({ n: Type.Integer() }, { additionalProperties: false }),
  response: Type.Object({ n: Type.Integer() }),
});

const bus = useNatsServer(ensureStreams);

describe("request/reply tier", () => {
  it("answers, validates, and reports a missing responder", async () => {
    const server = serveRequests(bus.nc, {
      prefix: "sdn.agent.host-1",
      logger: silentLogger,
      handlers: [bindHandler(Ping, async (req) => ({ data: { n: req.n + 1 }, details: "pong" }))],
    });
    try {
      expect(await request(bus.nc, Ping, "sdn.agent.host-1.Ping", { n: 41 })).toMatchObject({
        ok: true,
        data: { n: 42 },
      });
      const bad = await request(bus.nc, Ping, "sdn.agent.host-1.Ping", { n: "x" } as unknown as { n: number });
      expect(bad).toMatchObject({ ok: false, error: { code: "INVALID_COMMAND" } });
      const err = await request(bus.nc, Ping, "sdn.agent.host-2.Ping", { n: 1 }, { timeoutMs: 500 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NoResponderError);
      expect((err as Error).message).toContain("sdn.agent.host-2.Ping");
    } finally {
      await server.drain();
    }
  });

  /** A server whose Ping handler waits for `gate`; `running` resolves once a request reached it. */
  const gatedServer = (prefix: string, gate: Promise<void>) => {
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => (started = r));
    const server = serveRequests(bus.nc, {
      prefix,
      logger: silentLogger,
      handlers: [
        bindHandler(Ping, async (req) => {
          started();
          await gate;
          return { data: { n: req.n + 1 }, details: "slow pong" };
        }),
      ],
    });
    return { server, running };
  };

  it("drains: a request in flight is still answered, a new one is refused at once", async () => {
    let release: () => void = () => undefined;
    const { server, running } = gatedServer("sdn.agent.host-3", new Promise<void>((r) => (release = r)));
    const slow = request(bus.nc, Ping, "sdn.agent.host-3.Ping", { n: 1 }, { timeoutMs: 10_000 });
    await running;
    let drained = false;
    const draining = server.drain().then(() => (drained = true));
    const refused = await request(bus.nc, Ping, "sdn.agent.host-3.Ping", { n: 2 }, { timeoutMs: 10_000 }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(NoResponderError);
    expect(drained).toBe(false);
    release();
    expect(await slow).toMatchObject({ ok: true, data: { n: 2 } });
    await draining;
    expect(drained).toBe(true);
  });

  it("ends a drain at its bound when a handler never finishes", async () => {
    const { server, running } = gatedServer("sdn.agent.host-4", new Promise<void>(() => undefined));
    const stuck = request(bus.nc, Ping, "sdn.agent.host-4.Ping", { n: 1 }, { timeoutMs: 1500 }).catch(
      (e: unknown) => e,
    );
    await running;
    const begun = performance.now();
    await server.drain(300);
    expect(performance.now() - begun).toBeGreaterThanOrEqual(250);
    expect(await stuck).toBeInstanceOf(CommandTimeoutError);
  });
});

describe("NATS services framework", () => {
  it("answers $SRV.PING, $SRV.INFO and $SRV.STATS and serves Health", async () => {
    const svc = await registerMicro(bus.nc, {
      name: "network-guru",
      version: "9.9.9",
      description: "test",
      instanceId: "guru-x",
      logger: silentLogger,
      health: () => Promise.resolve({ status: "up" }),
    });
    try {
      const ping = (await bus.nc.request("$SRV.PING.network-guru", "", { timeout: 1000 })).json<{
        name: string;
        type: string;
      }>();
      expect(ping).toMatchObject({ name: "network-guru", type: "io.nats.micro.v1.ping_response" });
      const info = (await bus.nc.request("$SRV.INFO.network-guru", "", { timeout: 1000 })).json<{
        version: string;
        endpoints: { subject: string }[];
      }>();
      expect(info.version).toBe("9.9.9");
      expect(info.endpoints.map((e) => e.subject)).toContain("sdn.svc.network-guru.Health");
      expect((await bus.nc.request("sdn.svc.network-guru.Health", "", { timeout: 1000 })).json()).toEqual({
        status: "up",
      });
      const stats = (await bus.nc.request("$SRV.STATS.network-guru", "", { timeout: 1000 })).json<{
        endpoints: { num_requests: number }[];
      }>();
      expect(stats.endpoints[0]?.num_requests).toBe(1);
    } finally {
      await svc.service.stop();
    }
  });
});
