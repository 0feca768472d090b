import type { NatsConnection } from "@nats-io/transport-node";
import { CommandClient, connectBus, silentLogger, useStorage } from "@sdn/bus";
import { CreateNetwork, ListNicAddresses, ReserveNicAddress } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { startService, type RunningService } from "@sdn/runtime";
import { TestNatsCluster } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const as = { role: "tenant", accountId: "cluster", timeoutMs: 60_000 } as const;
const NICS = 240;

/**
 * Two guru replicas, each on its own server of a three-server cluster, reserving from one /24
 * (one address block, so every reservation of both is a compare-and-swap on the same key).
 * Debian's nats-server 2.9.10 accepts racing updates of one key (nats-server#4320): without
 * the bucket's confirmation of such writes, two NICs were handed one address here.
 */
describe("guest IPAM on a replicated bucket", () => {
  let cluster: TestNatsCluster;
  let nc: NatsConnection;
  const gurus: RunningService<never>[] = [];

  beforeAll(async () => {
    cluster = await TestNatsCluster.start(3);
    for (const name of cluster.names.slice(0, 2)) {
      const env = { NATS_URL: cluster.urlOf(name), SDN_NATS_REPLICAS: "3", LOG_LEVEL: "silent" };
      gurus.push((await startService(networkGuruSpec, env)) as unknown as RunningService<never>);
    }
    nc = await connectBus({ servers: cluster.urlOf(cluster.names[2]!), name: "ipam-test", logger: silentLogger });
    useStorage(nc, { replicas: 3 });
  }, 120_000);

  afterAll(async () => {
    for (const g of gurus) await g.stop();
    await nc?.close();
    await cluster?.dispose();
  });

  it(`gives ${NICS} NICs reserved at once through two replicas distinct addresses, all listed`, async () => {
    const client = new CommandClient(nc);
    const net = await client.send(CreateNetwork, { name: "one-block", cidr: "10.9.0.0/24" }, as);
    if (!net.ok) throw new Error(net.error.message);
    const answers = await Promise.all(
      Array.from({ length: NICS }, (_, i) =>
        client.send(ReserveNicAddress, { networkId: net.data.id, nicId: `nic-${i}` }, as),
      ),
    );
    expect(answers.filter((a) => !a.ok)).toEqual([]);
    const ips = answers.map((a) => (a.ok ? a.data.ip : ""));
    expect(new Set(ips).size).toBe(NICS);

    const listed = await client.send(ListNicAddresses, { networkId: net.data.id, limit: 1000 }, as);
    if (!listed.ok) throw new Error(listed.error.message);
    const byNic = new Map(listed.data.addresses.map((a) => [a.nicId, a.ip]));
    expect(byNic.size).toBe(NICS);
    ips.forEach((ip, i) => expect(byNic.get(`nic-${i}`), `nic-${i}`).toBe(ip));
  }, 180_000);
});
