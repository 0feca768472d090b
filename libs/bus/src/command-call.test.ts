import { CommandError, defineCommand } from "@sdn/contracts";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import Type from "@sdn/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandClient } from "./command-client.js";
import { CommandServer } from "./command-server.js";
import { bindHandler } from "./dispatch.js";
import { CommandFailedError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { ensureStreams } from "./streams.js";

const Take = defineCommand({
  service: "network-guru",
  name: "TestTake",
  delivery: "durable",
  summary: "test command the guru refuses for a taken name",
  request: Type.Object({ name: Type.String() }, { additionalProperties: false }),
  response: Type.Object({ name: Type.String() }),
});
const Relay = defineCommand({
  service: "ovs-element",
  name: "TestRelay",
  delivery: "durable",
  summary: "test command that calls TestTake on the guru",
  request: Type.Object({ name: Type.String() }, { additionalProperties: false }),
  response: Type.Object({ name: Type.String() }),
});

const TAKEN = { issues: [{ path: "/name", message: "is taken" }] };

const bus = useNatsServer(ensureStreams);
let guru: CommandServer;
let element: CommandServer;

beforeAll(async () => {
  const { nc } = bus;
  guru = new CommandServer(nc, {
    service: "network-guru",
    logger: silentLogger,
    handlers: [
      bindHandler(Take, async (req) => {
        if (req.name === "taken") throw new CommandError("CONFLICT", "name taken is taken", TAKEN);
        return { data: { name: req.name }, details: `took ${req.name}` };
      }),
    ],
  });
  // The element calls the guru on its own connection, as a service does.
  const elementClient = new CommandClient(nc, { kind: "principal", name: "ovs-element" });
  element = new CommandServer(nc, {
    service: "ovs-element",
    logger: silentLogger,
    handlers: [
      bindHandler(Relay, async (req) => ({
        data: await elementClient.call(Take, req, { role: "admin" }),
        details: "relayed",
      })),
    ],
  });
  await guru.start();
  await element.start();
});

afterAll(async () => {
  await element?.stop();
  await guru?.stop();
});

describe("CommandClient.call", () => {
  it("returns the data of an ok answer", async () => {
    expect(await new CommandClient(bus.nc).call(Take, { name: "free" })).toEqual({ name: "free" });
  });

  it("throws a refusal as CommandFailedError with the answer's code, message and details", async () => {
    const err: unknown = await new CommandClient(bus.nc).call(Take, { name: "taken" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect(err).toMatchObject({
      command: "TestTake",
      code: "CONFLICT",
      message: "name taken is taken",
      details: TAKEN,
      error: { code: "CONFLICT", message: "name taken is taken", details: TAKEN },
    });
  });

  it("lets a handler pass a refusal on to its own caller unchanged", async () => {
    const answer = await new CommandClient(bus.nc).send(Relay, { name: "taken" });
    expect(answer).toMatchObject({
      ok: false,
      error: { code: "CONFLICT", message: "name taken is taken", details: TAKEN },
    });
  });
});
