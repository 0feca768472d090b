import { connect } from "@nats-io/transport-node";
import { request, serveRequests, silentLogger } from "@sdn/bus";
import { agentPrefix, agentSubject, ApplyTunnels, type Host } from "@sdn/contracts";
import { TestNatsServer, waitFor } from "@sdn/testkit";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { agentHandlers } from "../../services/hypervisor-agent/src/agent/agent-handlers.js";
import { KvmDriver } from "../../services/hypervisor-agent/src/drivers/kvm/kvm-driver.js";
import { KVM_PROGRAM_DIR, Lab, type KvmLabHost } from "../lab/index.js";
import { percentile } from "./stats.js";

const SCRIPT = fileURLToPath(new URL("../../services/hypervisor-agent/host/sdn-ovs-kvm", import.meta.url));
const TUNNELS = 100;
const ROUNDS = 5;
const NET = randomUUID();

const kvmDriver = (host: KvmLabHost, ovsdb: boolean): KvmDriver =>
  new KvmDriver({
    ssh: host.sshOptions(),
    programDir: KVM_PROGRAM_DIR,
    commandTimeoutMs: 15_000,
    ovsdb,
  });

/**
 * 100 GRE tunnels on one lab host, in one run: the whole agent path (NATS request → agent
 * → OVSDB transaction through the SSH connection), the same through the host program
 * (SSH exec of Python running one ovs-vsctl), the host program run locally, and 100
 * `ovs-vsctl add-port` processes (CloudStack's way, one create_tunnel per peer). Then how
 * long a bridge deleted under us takes to be seen by the agent's monitor and rebuilt.
 */
export default async function run(): Promise<void> {
  const lab = await Lab.create();
  const nats = await TestNatsServer.start();
  const nc = await connect({ servers: nats.url });
  const opened: KvmDriver[] = [];
  try {
    const host = await lab.addKvmHost("bench");
    const drivers = { ovsdb: kvmDriver(host, true), program: kvmDriver(host, false) };
    opened.push(drivers.ovsdb, drivers.program);
    const remotes = Array.from({ length: TUNNELS }, (_, i) => ({
      ip: `10.99.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    }));
    const servers = (["ovsdb", "program"] as const).map((kind) =>
      serveRequests(nc, {
        prefix: agentPrefix(`bench-${kind}`),
        logger: silentLogger,
        handlers: agentHandlers(
          {
            host: { id: `bench-${kind}`, name: `bench (${kind})` } as Host,
            agentInstanceId: "bench",
            driver: () => drivers[kind],
            lost: () => undefined,
            reached: () => undefined,
          },
          { relayKeyFile: "/root/.ssh/id_sdn_router" },
        ),
      }),
    );
    const viaAgent = async (kind: "ovsdb" | "program", networkId: string, set: typeof remotes) => {
      const a = await request(nc, ApplyTunnels, agentSubject(`bench-${kind}`, "ApplyTunnels"), {
        networkId,
        greKey: 4242,
        remotes: set,
      });
      if (!a.ok) throw new Error(`ApplyTunnels via ${kind}: ${a.error.message}`);
    };
    const program = async (fn: string, args: object) => {
      const r = await host.exec([SCRIPT, fn], JSON.stringify(args));
      if (r.code !== 0) throw new Error(`${fn}: ${r.stdout}`);
    };
    await drivers.ovsdb.identify();
    if (drivers.ovsdb.ovsdb?.connected !== true) throw new Error("the agent did not reach OVSDB");
    const { bridge: benchBridge } = await drivers.ovsdb.setupBridge({ networkId: NET });
    const times = {
      agentOvsdb: [] as number[],
      agentProgram: [] as number[],
      local: [] as number[],
      single: [] as number[],
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [key, work] of [
        ["agentOvsdb", () => viaAgent("ovsdb", NET, remotes)],
        ["agentProgram", () => viaAgent("program", NET, remotes)],
        ["local", () => program("apply_tunnels", { networkId: NET, key: 4242, remotes })],
      ] as const) {
        const t0 = performance.now();
        await work();
        times[key].push(performance.now() - t0);
        await viaAgent("ovsdb", NET, []);
      }
      const t0 = performance.now();
      for (const [i, r] of remotes.entries()) {
        const port = `t4242-${i}`;
        await host.vsctl(
          "add-port",
          benchBridge,
          port,
          "--",
          "set",
          "Interface",
          port,
          "type=gre",
          `options:remote_ip=${r.ip}`,
          "options:key=4242",
        );
      }
      times.single.push(performance.now() - t0);
      await host.vsctl(...remotes.flatMap((_, i) => ["--", "del-port", `t4242-${i}`]));
    }

    // A bridge deleted under us: seen by the agent's monitor, then rebuilt with its tunnels.
    const seen: number[] = [];
    const repaired: number[] = [];
    const ovsdb = drivers.ovsdb.ovsdb;
    for (let round = 0; round < ROUNDS; round++) {
      await viaAgent("ovsdb", NET, remotes);
      const bridge = ovsdb.state(NET).bridges[0]!.name;
      let gone = 0;
      const stop = ovsdb.onChange((changes) => {
        if (gone === 0 && changes.some((c) => c.table === "Bridge" && c.new === undefined)) gone = performance.now();
      });
      const t0 = performance.now();
      await host.vsctl("del-br", bridge);
      await waitFor("the deletion seen", () => (gone > 0 ? true : undefined), 5_000, 1);
      stop();
      seen.push(gone - t0);
      const t1 = performance.now();
      await drivers.ovsdb.setupBridge({ networkId: NET });
      await viaAgent("ovsdb", NET, remotes);
      repaired.push(performance.now() - t1);
    }
    for (const s of servers) await s.drain();

    const med = (xs: number[]) => percentile(xs, 50).toFixed(1);
    process.stdout.write(
      `${TUNNELS} GRE tunnels on one host (median of ${ROUNDS}):\n` +
        `  bus → agent → OVSDB (one transaction over SSH):  ${med(times.agentOvsdb)} ms\n` +
        `  bus → agent → host program over SSH:             ${med(times.agentProgram)} ms\n` +
        `  host program run on the host (one ovs-vsctl):    ${med(times.local)} ms\n` +
        `  ${TUNNELS} single ovs-vsctl add-port calls:           ${med(times.single)} ms\n` +
        `  speed-up of the OVSDB path: ${(percentile(times.agentProgram, 50) / percentile(times.agentOvsdb, 50)).toFixed(1)}x over the program, ` +
        `${(percentile(times.single, 50) / percentile(times.agentOvsdb, 50)).toFixed(1)}x over single calls\n` +
        `bridge deleted under us (median of ${ROUNDS}):\n` +
        `  seen by the agent's OVSDB monitor after:          ${med(seen)} ms\n` +
        `  rebuilt with its ${TUNNELS} tunnels (SetupBridge + ApplyTunnels over the bus) in: ${med(repaired)} ms\n`,
    );
  } finally {
    for (const d of opened) await d.close();
    await nc.close();
    await nats.dispose();
    await lab.dispose();
  }
}
