import { JsonBucket } from "@sdn/bus";
import { FirewallRuleCommands, SyncRouter } from "@sdn/contracts";
import { percentile } from "./stats.js";
import { RouterFixture } from "../vr-manager/router-fixture.js";

const ROUNDS = 3;
const CHANGES = 5;

/**
 * A router holding 1,000 rules (400 ingress firewall rules, 300 port forwards, 300 egress
 * rules on one network): the time to push and apply the whole configuration (SyncRouter:
 * compose, SSH, the router program's one iptables-restore), and the time of one rule
 * change on that router (a CreateFirewallRule answered once the router runs it, which is
 * again a whole push of 1,001 rules). The 1,000 rules are written into the rule book
 * directly: creating them one command at a time would measure 1,000 pushes.
 */
export default async function run(): Promise<void> {
  const fx = await RouterFixture.start();
  try {
    const at = new Date().toISOString();
    const owner = (id: string) => ({ id, networkId: fx.network.id, accountId: fx.network.accountId, createdAt: at });
    const pip = { publicIpId: fx.publicIp.id, publicIp: fx.publicIp.ip };
    const hex = (i: number) => i.toString(16).padStart(16, "0");
    const vmIp = (i: number) => `10.1.${1 + Math.floor(i / 200)}.${(i % 200) + 10}`;
    const book = {
      networkId: fx.network.id,
      accountId: fx.network.accountId,
      egressDefault: "deny" as const,
      firewallRules: Array.from({ length: 400 }, (_, i) => ({
        ...owner(`fw-${hex(i)}`),
        ...pip,
        protocol: "tcp" as const,
        startPort: 20_000 + i,
        endPort: 20_000 + i,
        sourceCidrs: [`198.51.${i % 256}.0/24`],
      })),
      portForwards: Array.from({ length: 300 }, (_, i) => ({
        ...owner(`pf-${hex(i)}`),
        ...pip,
        protocol: "tcp" as const,
        publicStartPort: 20_000 + i,
        publicEndPort: 20_000 + i,
        privateIp: vmIp(i),
        privateStartPort: 80,
        privateEndPort: 80,
      })),
      egressRules: Array.from({ length: 300 }, (_, i) => ({
        ...owner(`eg-${hex(i)}`),
        protocol: "tcp" as const,
        startPort: 1000 + i,
        endPort: 1000 + i,
        destinationCidrs: ["0.0.0.0/0"],
      })),
      staticNats: [],
      loadBalancers: [],
    };
    const rules = await JsonBucket.open(fx.nc, "sdn_vr_rules");
    await rules.kv.put(fx.network.id, JSON.stringify(book));

    const full: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const r = await fx.send(SyncRouter, { routerId: fx.registered.id }, { role: "admin" });
      full.push(performance.now() - t0);
      if (r.state !== "Applied")
        throw new Error(`the router did not apply 1,000 rules: ${JSON.stringify(r.lastError)}`);
    }
    const iptablesRules = (await fx.router.iptables()).split("\n").filter((l) => l.startsWith("-A ")).length;

    const change: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const t0 = performance.now();
      const created = await fx.send(FirewallRuleCommands.create, {
        networkId: fx.network.id,
        publicIpId: fx.publicIp.id,
        protocol: "udp",
        startPort: 40_000 + i,
      });
      change.push(performance.now() - t0);
      if (created.apply.status !== "applied") throw new Error(`the change was not applied: ${created.apply.status}`);
    }
    const med = (xs: number[]) => percentile(xs, 50).toFixed(0);
    process.stdout.write(
      `one router, 1,000 rules (${iptablesRules} iptables rules rendered), direct SSH:\n` +
        `  push and apply all 1,000 rules (SyncRouter, median of ${ROUNDS}): ${med(full)} ms (min ${Math.min(...full).toFixed(0)})\n` +
        `  one rule change on top of them (median of ${CHANGES}):            ${med(change)} ms (min ${Math.min(...change).toFixed(0)})\n`,
    );
  } finally {
    await fx.dispose();
  }
}
