import { jetstreamManager } from "@nats-io/jetstream";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { CommandClient, commandHeaders, connectBus, sealNewHost, silentLogger, useStorage } from "@sdn/bus";
import { AddHost, agentSubject, type Host } from "@sdn/contracts";
import { TestNatsCluster, waitFor } from "@sdn/testkit";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProcess } from "./agent-process.js";
import { simulatedHostRequests } from "./simulated-hosts.js";

/*
 * Agent host leases on a three-node NATS cluster (#22): the lease bucket at three replicas,
 * two agent replicas in their own processes. Through a kill -9 of the lease bucket's leader
 * no host is dropped or served twice (the agents and the probe are connected to the other
 * two servers: a client of the killed server is unreachable while it reconnects, which is
 * not what this measures); through a kill -9 of an agent replica its hosts move
 * to the other, never served by both, and every host has exactly one server after the node
 * rejoins.
 */

/** The default lease: a holder keeps a host for two thirds of it without a renewal, longer than an election. */
const LEASE_MS = 24_000;
const LEASES_STREAM = "KV_sdn-host-leases";

let cluster: TestNatsCluster;
/** The server whose kill is measured: it leads the lease bucket then, and no client is connected to it. */
let spare: string;
/** The other servers, the only ones the agents and the probe are given. */
let clientUrl: string;
let nc: NatsConnection;
let dataDir: string;
const agents: AgentProcess[] = [];
const hosts: Host[] = [];

const startAgent = (): AgentProcess => {
  const a = AgentProcess.start(
    {
      NATS_URL: clientUrl,
      SDN_NATS_REPLICAS: "3",
      SDN_AGENT_SIMULATOR: "true",
      SDN_AGENT_LEASE_MS: String(LEASE_MS),
      SDN_HOST_CHECK_INTERVAL_MS: "1000",
      LOG_LEVEL: "info",
    },
    dataDir,
  );
  agents.push(a);
  return a;
};

/** Nobody serves the host: the server says so at once (no subscriber on the subject). */
const UNSERVED = "(no responders)";

/**
 * Which agent instances answer a Ping to `hostId` within the window: all of them, not the
 * first; `UNSERVED` when no replica is subscribed. An answer slower than the window (a
 * loaded machine) is not counted: only a server-side "no responders" means unserved.
 */
const responders = async (hostId: string): Promise<string[]> => {
  const seen: string[] = [];
  const replies = await nc.requestMany(agentSubject(hostId, "Ping"), "{}", {
    strategy: "timer",
    maxWait: 400,
    headers: commandHeaders(randomUUID(), { role: "admin" }),
  });
  try {
    for await (const m of replies) {
      if (m.data.length === 0) {
        if (m.headers?.code === 503) seen.push(UNSERVED);
        continue;
      }
      const answer = m.json<{ ok: boolean; data?: { agentInstanceId: string } }>();
      if (answer.ok && answer.data !== undefined) seen.push(answer.data.agentInstanceId);
    }
  } catch (err) {
    if (!(err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders()))) {
      throw err;
    }
    seen.push(UNSERVED);
  }
  return seen;
};

/** Whether the process's last word on `hostId` is that it took charge of it. */
const servesNow = (a: AgentProcess, hostId: string): boolean => {
  const said = a.output.split("\n").filter((l) => l.includes(hostId) && l.includes("charge of host"));
  return said.at(-1)?.includes("took charge") ?? false;
};

type Round = Map<string, string[]>;
const probe = async (): Promise<Round> =>
  new Map(await Promise.all(hosts.map(async (h) => [h.id, await responders(h.id)] as const)));

/** Probes every host until `stop` resolves; each round's responders per host. */
const probeUntil = async (stop: Promise<unknown>): Promise<Round[]> => {
  let done = false;
  void stop.finally(() => (done = true));
  const rounds: Round[] = [];
  while (!done) rounds.push(await probe());
  return rounds;
};

const everyHostOneServer = () =>
  waitFor(
    "every host served by exactly one agent replica",
    async () => {
      const round = await probe();
      return [...round.values()].every((r) => r.length === 1 && r[0] !== UNSERVED) ? round : undefined;
    },
    60_000,
    200,
  );

beforeAll(async () => {
  cluster = await TestNatsCluster.start(3);
  spare = cluster.names[0]!;
  clientUrl = cluster.names
    .filter((n) => n !== spare)
    .map((n) => cluster.urlOf(n))
    .join(",");
  nc = await connectBus({ servers: clientUrl, name: "lease-test", logger: silentLogger });
  useStorage(nc, { replicas: 3 });
  dataDir = mkdtempSync(join(tmpdir(), "sdn-lease-election-"));
  startAgent();
  const commands = new CommandClient(nc);
  const requests = ["a", "b", "c"].flatMap((p, i) => simulatedHostRequests(`le${p}`, `10.97.${i}`));
  for (const body of requests) {
    // The agent process publishes its sealing key once it is up.
    const sealed = await waitFor("the agent's sealing key", () => sealNewHost(nc, body).catch(() => undefined), 60_000);
    const a = await commands.send(AddHost, sealed, { role: "admin", timeoutMs: 60_000 });
    if (!a.ok) throw new Error(`AddHost ${body.name}: ${a.error.message}`);
    hosts.push(a.data);
  }
  await everyHostOneServer();
  startAgent();
  // The second replica takes nothing while the first renews: both run, hosts stay put.
  await new Promise((r) => setTimeout(r, LEASE_MS / 2));
}, 180_000);

afterAll(async () => {
  for (const a of agents) await a.kill().catch(() => undefined);
  await nc?.close();
  await cluster?.dispose();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("agent host leases through NATS leader elections", () => {
  it("keeps every host served by the same replica while the lease bucket's leader is killed", async () => {
    const before = await everyHostOneServer();
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(LEASES_STREAM)).config.num_replicas).toBe(3);
    // The lease bucket's leadership moves to the spare server, which is then killed.
    const leader = await waitFor(
      `the lease bucket led by ${spare}`,
      async () => {
        const now = (await jsm.streams.info(LEASES_STREAM)).cluster?.leader;
        if (now === spare) return now;
        if (now !== undefined)
          await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${LEASES_STREAM}`, "", { timeout: 5_000 });
        return undefined;
      },
      60_000,
      1_000,
    );
    await everyHostOneServer();

    cluster.kill(leader);
    // The election and several renewal passes after it.
    const rounds = await probeUntil(new Promise((r) => setTimeout(r, 15_000)));
    expect(rounds.length).toBeGreaterThan(3);
    for (const round of rounds) {
      for (const [hostId, seen] of round) {
        // Served all along, by the same replica (a round may miss a slow answer: [] then).
        expect(
          seen.filter((id) => id !== before.get(hostId)![0]),
          `host ${hostId}`,
        ).toEqual([]);
      }
    }
    await cluster.restart(leader);
  }, 120_000);

  it("moves a killed replica's hosts to the other, never serving one host twice", async () => {
    const before = await everyHostOneServer();
    // The replica serving the first host dies; the probes watch its hosts move.
    const victim = before.get(hosts[0]!.id)![0]!;
    const moved = [...before].filter(([, [id]]) => id === victim).map(([h]) => h);
    const killed = agents.find((a) => a.running && servesNow(a, hosts[0]!.id));
    if (killed === undefined) throw new Error(`no running agent process says it serves ${hosts[0]!.id}`);
    await killed.kill();

    const settled = everyHostOneServer();
    const rounds = await probeUntil(settled);
    for (const round of rounds) {
      for (const [hostId, seen] of round) {
        expect(seen.filter((id) => id !== UNSERVED).length, `host ${hostId} servers`).toBeLessThanOrEqual(1);
      }
    }
    const after = await settled;
    for (const hostId of moved) expect(after.get(hostId)).not.toEqual([victim]);
  }, 120_000);
});
