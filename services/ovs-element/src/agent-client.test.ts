import { connect, type NatsConnection } from "@nats-io/transport-node";
import { agentSubject, Ping, SetupBridge } from "@sdn/contracts";
import { TestNatsServer } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentCallError, AgentClient } from "./agent-client.js";

const HOST = "host-answers";
const NETWORK = "7f6b8a62-5c3e-4c7a-9d0e-1b2c3d4e5f60";

let server: TestNatsServer;
let nc: NatsConnection;

/** A stand-in agent for one host that answers every request with `answer`. */
const agentAnswering = (command: string, answer: unknown) =>
  nc.subscribe(agentSubject(HOST, command), {
    callback: (_e, m) => {
      m.respond(JSON.stringify(answer));
    },
  });

/** What a call that must fail threw. */
const failure = (call: Promise<unknown>): Promise<AgentCallError> =>
  call.then(
    () => Promise.reject(new Error("the call succeeded")),
    (e: unknown) => e as AgentCallError,
  );

beforeAll(async () => {
  server = await TestNatsServer.start();
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe("agent answers are checked against their contract", () => {
  it("unwraps a well-formed answer to its data", async () => {
    const sub = agentAnswering(SetupBridge.name, {
      ok: true,
      commandId: "c1",
      details: "set up",
      data: { bridge: "br-1", created: true },
    });
    try {
      const client = new AgentClient(nc, 2_000);
      expect(await client.call(HOST, SetupBridge, { networkId: NETWORK })).toEqual({ bridge: "br-1", created: true });
    } finally {
      sub.unsubscribe();
    }
  });

  it("refuses an answer whose data breaks the contract with INTERNAL, naming the field", async () => {
    const sub = agentAnswering(SetupBridge.name, {
      ok: true,
      commandId: "c2",
      details: "set up",
      data: { bridge: 42 },
    });
    try {
      const err = await failure(new AgentClient(nc, 2_000).call(HOST, SetupBridge, { networkId: NETWORK }));
      expect(err).toBeInstanceOf(AgentCallError);
      expect(err.code).toBe("INTERNAL");
      expect(err.message).toMatch(/SetupBridge on host host-answers: answer to SetupBridge is invalid/);
      expect(err.message).toMatch(/bridge/);
    } finally {
      sub.unsubscribe();
    }
  });

  it("refuses an answer that is neither ok nor an error body", async () => {
    const sub = agentAnswering(Ping.name, {
      ok: false,
      commandId: "c3",
      details: "x",
      error: { code: "NO_SUCH_CODE" },
    });
    try {
      const err = await failure(new AgentClient(nc, 2_000).call(HOST, Ping, {}));
      expect(err).toBeInstanceOf(AgentCallError);
      expect(err.code).toBe("INTERNAL");
    } finally {
      sub.unsubscribe();
    }
  });

  it("turns an error answer into AgentCallError keeping the agent's code and details", async () => {
    const error = { code: "NOT_FOUND", message: "no bridge", details: { hostError: "BRIDGE_NOT_FOUND" } };
    const sub = agentAnswering(SetupBridge.name, { ok: false, commandId: "c4", details: "refused", error });
    try {
      const err = await failure(new AgentClient(nc, 2_000).call(HOST, SetupBridge, { networkId: NETWORK }));
      expect(err).toBeInstanceOf(AgentCallError);
      expect(err.code).toBe("NOT_FOUND");
      expect(err.details).toEqual({ hostError: "BRIDGE_NOT_FOUND" });
    } finally {
      sub.unsubscribe();
    }
  });
});
