import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { CommandClient, JsonBucket } from "@sdn/bus";
import { CheckHealth, COMMAND_SERVICES, STREAMS, type CommandServiceName, type Nic, type Tunnel } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { expectFullMesh } from "../../hypervisor-agent/simulated-hosts.js";
import { collectAnswers, CommandStream } from "../command-stream.js";
import type { Scenario } from "../scenario.js";
import type { ContainerSystem } from "../system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Faults under load. Commands go straight onto the bus from the test (as another system
 * would publish them); the claim checked each time: every command JetStream accepted is
 * answered, whatever happened to the service or to NATS meanwhile; and afterwards
 * everything the scenario created reads back unchanged.
 */
export const faultSteps = (system: () => ContainerSystem, scenario: Scenario): void => {
  let nc: NatsConnection;
  let client: CommandClient;

  beforeAll(async () => {
    // As the gateway: it publishes every service's commands and reads every answer.
    nc = await system().connectNats("api-gateway");
    client = new CommandClient(nc);
  });

  afterAll(async () => {
    await nc?.close();
  });

  /** Stops `service` mid-load, keeps publishing while it is down, starts it again. */
  const restartUnderLoad = async (service: CommandServiceName, kill: boolean) => {
    const def = CheckHealth[service];
    const before = await client.send(def, {}, { timeoutMs: 10_000 });
    if (!before.ok) throw new Error(`${service} did not answer before the fault: ${before.error.message}`);
    const stream = new CommandStream(client, def, {}).start();
    await sleep(1_000);
    await system().stopService(service, { kill });
    const downFrom = Date.now();
    await sleep(1_500);
    const downUntil = Date.now();
    await system().startService(service);
    await sleep(1_000);
    const accepted = await stream.stop();

    // Commands delivered to the old process but never acknowledged (killed, or sent to it as
    // it closed its consumer) come back after the consumer's ack wait (30 s).
    const answers = await collectAnswers(
      client,
      def,
      accepted.map((c) => c.commandId),
      90_000,
    );
    expect(stream.refused, "NATS refused commands while only the service was down").toBe(0);
    const failed = [...answers.values()].filter((a) => !a.ok);
    expect(failed, "answers with ok: false").toEqual([]);
    const whileDown = accepted.filter((c) => c.acceptedAt > downFrom && c.acceptedAt < downUntil);
    expect(whileDown.length, "commands accepted while the service was down").toBeGreaterThan(10);
    // Answered by the process that started after the fault.
    const answeredBy = whileDown.map(({ commandId }) => {
      const answer = answers.get(commandId);
      return answer?.ok ? answer.data.instanceId : "no answer";
    });
    expect(new Set(answeredBy).size).toBe(1);
    expect(answeredBy[0]).not.toBe("no answer");
    expect(answeredBy[0]).not.toBe(before.data.instanceId);
    return accepted.length;
  };

  it("answers every accepted command when a service is stopped and started mid-load", async () => {
    expect(await restartUnderLoad("vr-manager", false)).toBeGreaterThan(50);
  });

  it("answers every accepted command when a service is killed mid-load", async () => {
    expect(await restartUnderLoad("ovs-element", true)).toBeGreaterThan(50);
  });

  it("keeps streams and KV across a NATS restart; services reconnect and answer every accepted command", async () => {
    const def = CheckHealth["network-guru"];
    // A bucket the gateway may write (permissions name each one); an idempotency key no request uses.
    const probe = await JsonBucket.open<{ writtenAt: string }>(nc, "gw_idempotency", { ttl: 24 * 3600 * 1000 });
    const written = { writtenAt: new Date().toISOString() };
    await probe.update("it-probe", () => written);
    const earlier = await client.send(def, {}, { timeoutMs: 10_000 });
    const jsm = await jetstreamManager(nc);
    const answersBefore = (await jsm.streams.info(STREAMS.answers.name)).state.messages;

    const stream = new CommandStream(client, def, {}).start();
    await sleep(500);
    await system().restartNats();
    await system().waitUntilReady(60_000);
    await sleep(500);
    const accepted = await stream.stop();

    const answers = await collectAnswers(
      client,
      def,
      accepted.map((c) => c.commandId),
      60_000,
    );
    expect([...answers.values()].filter((a) => !a.ok)).toEqual([]);
    expect((await probe.get("it-probe"))?.value).toEqual(written);
    expect(await client.findAnswer(def, earlier.commandId, undefined)).toEqual(earlier);
    const answersAfter = (await (await jetstreamManager(nc)).streams.info(STREAMS.answers.name)).state.messages;
    expect(answersAfter).toBeGreaterThanOrEqual(answersBefore + accepted.length);
    for (const service of COMMAND_SERVICES) {
      expect((await system().api("POST", `/v1/services/${service}/health-checks`)).status, service).toBe(200);
    }
  });

  it("still holds every account, token, network and rule the scenario created, and its routers still pass its traffic", async () => {
    for (const [name, { accountId, token }] of scenario.tenants) {
      const res = await system().api("GET", `/v1/accounts/${accountId}`, { token });
      expect(res.status, name).toBe(200);
      expect(res.body).toMatchObject({ id: accountId, name });
    }
    for (const [key, { token, network }] of scenario.networks) {
      const res = await system().api("GET", `/v1/networks/${String(network["id"])}`, { token });
      expect(res.status, key).toBe(200);
      expect(res.body, key).toEqual(network);
    }
    for (const [path, { token, body }] of scenario.rules) {
      const res = await system().api("GET", path, { token });
      expect(res.status, path).toBe(200);
      expect(res.body, path).toEqual(body);
    }
    for (const prove of scenario.traffic.values()) await prove();
  });

  it("still lists every NIC Plugged and keeps each network's tunnel mesh established", async () => {
    for (const [id, { network: key, nic }] of scenario.nics) {
      const { token, network } = scenario.networks.get(key)!;
      const res = await system().api("GET", `/v1/networks/${String(network["id"])}/nics`, { token });
      expect(res.status, key).toBe(200);
      expect(
        (res.body["nics"] as Nic[]).find((n) => n.id === id),
        id,
      ).toEqual(nic);
    }
    for (const key of new Set([...scenario.nics.values()].map((n) => n.network))) {
      const { token, network } = scenario.networks.get(key)!;
      const onNetwork = new Set([...scenario.nics.values()].filter((n) => n.network === key).map((n) => n.nic.hostId));
      const hosts = [...scenario.hosts.values()].filter((h) => onNetwork.has(h.id));
      // A tunnel set the faults left Failed is retried by the element: give it the time to.
      await waitFor(
        `the tunnel mesh of ${key} to be established`,
        async () => {
          const res = await system().api("GET", `/v1/networks/${String(network["id"])}/tunnels`, { token });
          return (res.body["tunnels"] as Tunnel[]).every((t) => t.state === "Established") ? res.body : undefined;
        },
        60_000,
        1_000,
      ).then((body) => expectFullMesh(body["tunnels"] as Tunnel[], hosts));
    }
  });
};
