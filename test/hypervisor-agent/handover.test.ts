import { CommandClient, request, sealNewHost } from "@sdn/bus";
import { AddHost, agentSubject, GetOvsState, Ping, type Host } from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { startService, type RunningService } from "@sdn/runtime";
import { TestNatsServer, waitFor } from "@sdn/testkit";
import { AgentClient } from "@sdn/ovs-element";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RequestLoad, summarize, type Sample } from "./request-load.js";
import { simulatedHostRequests } from "./simulated-hosts.js";

/*
 * Agent replicas stop and hand their hosts over while callers keep asking them: every
 * request must be answered, or refused at once while no replica serves the host, never
 * left to wait out the caller's timeout. The callers are the ovs-element's agent client
 * with its default timeout (30 s), four requests in flight per host as the element keeps.
 */

const CALLER_TIMEOUT_MS = 30_000;
/** Far below the caller's timeout, far above a simulated request on a loaded machine. */
const ANSWER_BOUND_MS = 5_000;

let nats: TestNatsServer;
let nc: NatsConnection;
let dataDir: string;
const replicas = new Set<RunningService<never>>();
const hosts: Host[] = [];

const startReplica = async (): Promise<RunningService<never>> => {
  const r = (await startService(hypervisorAgentSpec, {
    NATS_URL: nats.url,
    LOG_LEVEL: "silent",
    SDN_DATA_DIR: dataDir,
    SDN_AGENT_SIMULATOR: "true",
    SDN_AGENT_LEASE_MS: "3000",
    SDN_HOST_CHECK_INTERVAL_MS: "1000",
  })) as unknown as RunningService<never>;
  replicas.add(r);
  return r;
};
const stopReplica = async (r: RunningService<never>): Promise<void> => {
  replicas.delete(r);
  await r.stop();
};
/** Every host answers Ping, from the given replica when one is named. */
const everyHostServed = (by?: RunningService<never>) =>
  waitFor(
    "every host to be served",
    async () => {
      for (const h of hosts) {
        const a = await request(nc, Ping, agentSubject(h.id, "Ping"), {}, { timeoutMs: 2000 });
        if (!a.ok || (by !== undefined && a.data.agentInstanceId !== by.context.instanceId)) return undefined;
      }
      return true;
    },
    30_000,
    100,
  );
const startLoad = () => {
  const client = new AgentClient(nc, CALLER_TIMEOUT_MS);
  return new RequestLoad(
    hosts.map((h) => h.id),
    4,
    (id) => client.call(id, GetOvsState, {}),
  );
};
/** Every request was answered, or refused because nothing served the host, well within the bound. */
const expectNoneWaitedOut = (samples: Sample[]) => {
  console.log(summarize(samples));
  expect(samples.filter((s) => s.outcome === "ok").length).toBeGreaterThan(0);
  expect(samples.filter((s) => s.latencyMs >= ANSWER_BOUND_MS)).toEqual([]);
  expect(samples.filter((s) => s.outcome !== "ok" && !s.message?.includes("nothing is serving"))).toEqual([]);
};

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  dataDir = mkdtempSync(join(tmpdir(), "sdn-handover-"));
  await startReplica();
  const commands = new CommandClient(nc);
  for (const body of simulatedHostRequests("ho", "10.98.0")) {
    const a = await commands.send(AddHost, await sealNewHost(nc, body), { role: "admin", timeoutMs: 30_000 });
    if (!a.ok) throw new Error(`AddHost ${body.name}: ${a.error.message}`);
    hosts.push(a.data);
  }
  await everyHostServed();
}, 60_000);

afterAll(async () => {
  for (const r of replicas) await r.stop().catch(() => undefined);
  await nc?.close();
  await nats?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("agent requests while replicas stop and hand hosts over", () => {
  it("answers or refuses at once every request across agent restarts", { timeout: 180_000 }, async () => {
    const load = startLoad();
    for (let i = 0; i < 4; i++) {
      await stopReplica([...replicas][0] as RunningService<never>);
      await startReplica();
      await everyHostServed();
      await new Promise((r) => setTimeout(r, 300));
    }
    expectNoneWaitedOut(await load.stop());
  });

  it("answers every request while a second replica takes the hosts over", { timeout: 180_000 }, async () => {
    const load = startLoad();
    for (let i = 0; i < 4; i++) {
      const leaving = [...replicas][0] as RunningService<never>;
      const next = await startReplica();
      await new Promise((r) => setTimeout(r, 300));
      await stopReplica(leaving);
      await everyHostServed(next);
      await new Promise((r) => setTimeout(r, 300));
    }
    expectNoneWaitedOut(await load.stop());
  });
});
