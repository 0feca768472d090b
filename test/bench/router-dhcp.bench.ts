import { JsonBucket } from "@sdn/bus";
import { GetRouter, PlugNic, SyncRouter, UpdateNic, type Nic } from "@sdn/contracts";
import { startService, type RunningService } from "@sdn/runtime";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exec, execQuiet, inNetns } from "../lab/index.js";
import { RouterFixture } from "../vr-manager/router-fixture.js";
import { percentile } from "./stats.js";
import { SimulatedAgents } from "./simulated-agent.js";

const LEASES = 1000;
const ROUNDS = 5;
const PROBE = resolve(fileURLToPath(new URL(".", import.meta.url)), "../vr-manager/dhcp_probe.py");

/**
 * A router serving 1,000 DHCP leases (1,000 guest NICs of one network): the time from a
 * NIC plug answered (PlugNic through the ovs-element, on a simulated host) to the router's
 * DHCP offer for that MAC (dhcp_probe.py asks every 10 ms from the router's guest link);
 * the time of one lease change on top of the 1,000 (UpdateNic of a hostname, until the
 * router's DNS answers the new name); and a whole push of the 1,000 leases (SyncRouter).
 * The 1,000 NIC records are written into the element's KV directly: plugging them one
 * command at a time would measure 1,000 plugs.
 */
export default async function run(): Promise<void> {
  const fx = await RouterFixture.start();
  const agents = new SimulatedAgents(fx.nc, 1);
  const registry = (await startService(agents.registrySpec(), {
    NATS_URL: fx.nats.url,
    LOG_LEVEL: "silent",
  })) as unknown as RunningService<never>;
  try {
    const peer = `sdnlab-${fx.lab.runId}-peer`;
    await exec(["ip", "-n", peer, "addr", "add", "192.0.2.1/24", "dev", "p1"]);
    await exec(["ip", "-n", peer, "link", "set", "p1", "up"]);
    const nics = await JsonBucket.open<Nic>(fx.nc, "sdn_element_nics");
    const at = new Date().toISOString();
    const mac = (i: number) =>
      `02:be:00:${[i >> 16, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;
    for (let i = 0; i < LEASES; i++) {
      const nic: Nic = {
        id: `nic-bench-${i}`,
        networkId: fx.network.id,
        accountId: fx.network.accountId,
        vmId: `vm-${i}`,
        hostId: "sim-0000",
        role: "guest",
        device: `vb${i}`,
        ip: `10.1.${10 + Math.floor(i / 250)}.${(i % 250) + 2}`,
        prefixLength: 16,
        gateway: fx.network.gateway,
        mac: mac(i),
        bridge: "sdnbench",
        mtu: 1450,
        state: "Plugged",
        createdAt: at,
        updatedAt: at,
      };
      await nics.kv.put(`${fx.network.id}.${nic.id}`, JSON.stringify(nic));
    }
    const full: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await fx.send(SyncRouter, { routerId: fx.registered.id }, { role: "admin" });
      full.push(performance.now() - t);
    }
    const hosts = await fx.router.exec(["wc", "-l", `${fx.router.stateDir}/guests/dhcp-hosts`]);

    const offer: number[] = [];
    // Of which the probe asked (the rest is starting python in the namespace).
    const asking: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const m = mac(LEASES + r);
      const plugged = await fx.send(
        PlugNic,
        { networkId: fx.network.id, vmId: `vm-new-${r}`, hostId: "sim-0000", hostInterface: `vn${r}`, mac: m },
        { role: "admin" },
      );
      const answered = performance.now();
      const p = await execQuiet(inNetns(peer, ["python3", PROBE, "p1", m, "30"]));
      if (p.code !== 0) {
        const r = await fx.send(GetRouter, { routerId: fx.registered.id }, { role: "admin" });
        throw new Error(`no DHCP offer for ${m} in 30 s; the router: ${JSON.stringify(r)} ${p.stderr}`);
      }
      if (p.stdout.split(" ")[1]?.trim() !== plugged.ip) throw new Error(`offered ${p.stdout}, reserved ${plugged.ip}`);
      offer.push(performance.now() - answered);
      asking.push(Number(p.stdout.split(" ")[0]));
    }

    const rename: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const name = `renamed-${r}`;
      const t = performance.now();
      await fx.send(UpdateNic, { networkId: fx.network.id, nicId: "nic-bench-7", hostname: name }, { role: "admin" });
      for (;;) {
        const d = await fx.router.exec(["dig", "@127.0.0.1", "+short", "+time=1", `${name}.bench.internal`]);
        if (d.stdout.trim() !== "") break;
        await new Promise((res) => setTimeout(res, 5));
      }
      rename.push(performance.now() - t);
    }
    const med = (xs: number[]) =>
      `${percentile(xs, 50).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
    process.stdout.write(
      `one router, ${LEASES} DHCP leases (${hosts.stdout.trim().split(" ")[0]} host lines), direct SSH:\n` +
        `  push and apply all of them (SyncRouter, median of 3):                 ${med(full)}\n` +
        `  NIC plug answered -> DHCP offer for its MAC (median of ${ROUNDS}):             ${med(offer)}\n` +
        `    of which the probe was asking (DISCOVER every 10 ms):              ${med(asking)}\n` +
        `  one lease change on top (UpdateNic -> DNS answers the new name, ${ROUNDS}): ${med(rename)}\n`,
    );
  } finally {
    await registry.stop();
    await agents.close();
    await fx.dispose();
  }
}
