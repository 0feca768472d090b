import { CommandClient } from "@sdn/bus";
import { GetRouter, GetRouterSshKey, JoinRedundancyGroup, RegisterRouter, type Router } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../lab/index.js";
import { sleep, syncAnswers } from "./pair-traffic.js";
import { RouterFixture } from "./router-fixture.js";
import { labNamespace, LabRouter } from "./router-lab.js";

/*
 * A router registered alone becomes a pair member (JoinRedundancyGroup, PATCH
 * /v1/routers/{id}): its gateway address moves under keepalived with no gap longer than
 * VRRP's takeover, then a partner registers into the group and the pair settles.
 */

let fx: RouterFixture;
const admin = { role: "admin" as const, accountId: "ops" };

beforeAll(async () => {
  fx = await RouterFixture.start();
  // keepalived tracks the guest and public interfaces: their far ends up, or the router is FAULT.
  for (const dev of ["p0", "p1"]) await exec(["ip", "-n", `sdnlab-${fx.lab.runId}-peer`, "link", "set", dev, "up"]);
}, 180_000);

afterAll(async () => {
  await fx?.dispose();
});

const get = (routerId: string) => fx.send(GetRouter, { routerId }, admin);

/** Whether the network's gateway address is on the router's guest interface. */
const holdsGateway = async (r: LabRouter) =>
  (await r.exec(["ip", "-4", "-o", "addr", "show", "dev", "eth2"])).stdout.includes(`${fx.network.gateway}/`);

/** A second router like the fixture's: control on the management network, eth1/eth2 veths to a namespace of its own. */
const secondRouter = async (): Promise<LabRouter> => {
  const r = await LabRouter.create(fx.lab, "rt2");
  await r.controlOnUnderlay(fx.lab, 202);
  const other = await labNamespace(fx.lab, "peer2");
  for (const [dev, peer] of [
    ["eth1", "q0"],
    ["eth2", "q1"],
  ] as const) {
    await exec(["ip", "-n", r.ns, "link", "add", dev, "type", "veth", "peer", "name", peer, "netns", other]);
    await exec(["ip", "-n", r.ns, "link", "set", dev, "up"]);
    await exec(["ip", "-n", other, "link", "set", peer, "up"]);
  }
  await r.startSshd([(await fx.send(GetRouterSshKey, {}, admin)).publicKey]);
  return r;
};

describe("vr-manager: a single router joins a redundancy group", () => {
  it(
    "becomes the group's first member, keepalived takes its gateway with at most VRRP's takeover gap",
    { timeout: 120_000 },
    async () => {
      const id = fx.registered.id;
      expect(fx.registered.redundancyGroup).toBeUndefined();
      expect(await holdsGateway(fx.router)).toBe(true);
      // The gateway address watched every 20 ms while the router joins.
      let watching = true;
      const absent: number[] = [];
      const watcher = (async () => {
        while (watching) {
          if (!(await holdsGateway(fx.router))) absent.push(Date.now());
          await sleep(20);
        }
      })();
      const joined = await fx.send(JoinRedundancyGroup, { routerId: id, redundancyGroup: "join-pair" }, admin);
      expect(joined.redundancy).toMatchObject({ group: "join-pair", health: "single" });
      expect(joined.redundancy?.members.map((m) => m.priority)).toEqual([250]);
      const master = await waitFor(
        "the joined router MASTER",
        async () => {
          const r = await get(id);
          return r.vrrpState === "MASTER" && (await holdsGateway(fx.router)) ? r : undefined;
        },
        60_000,
        300,
      );
      watching = false;
      await watcher;
      const gap = absent.length === 0 ? 0 : (absent.at(-1) as number) - (absent[0] as number) + 20;
      console.log(`[redundant routers] join: the gateway address was absent ~${gap} ms (${absent.length} looks)`);
      // VRRP's takeover alone is 1.5 s after keepalived starts; the load adds to it.
      expect(gap).toBeLessThan(5_000);
      expect(master.connectionSync).toBe("no-peer");

      // The same group again is the router as it is; another group, or the router's own, is refused.
      expect((await fx.send(JoinRedundancyGroup, { routerId: id, redundancyGroup: "join-pair" }, admin)).id).toBe(id);
      const other = await new CommandClient(fx.nc).send(
        JoinRedundancyGroup,
        { routerId: id, redundancyGroup: "other-pair" },
        { ...admin, timeoutMs: 60_000 },
      );
      expect(other.ok ? "ok" : other.error.code).toBe("CONFLICT");
      const missing = await new CommandClient(fx.nc).send(
        JoinRedundancyGroup,
        { routerId: "vr-0000000000000000", redundancyGroup: "join-pair" },
        { ...admin, timeoutMs: 60_000 },
      );
      expect(missing.ok ? "ok" : missing.error.code).toBe("NOT_FOUND");
    },
  );

  it(
    "its partner registers into the group: the pair settles with the joined router MASTER",
    { timeout: 180_000 },
    async () => {
      const rt2 = await secondRouter();
      const partner: Router = await fx.send(
        RegisterRouter,
        {
          name: "rt2",
          hostId: "host-2",
          vmId: "vm-rt2",
          networkIds: [fx.network.id],
          nics: [{ networkId: fx.network.id, interface: "eth2" }],
          controlAddress: rt2.controlAddress,
          hostKeyFingerprint: rt2.hostKeyFingerprint,
          publicInterface: "eth1",
          plugNics: false,
          redundancyGroup: "join-pair",
        },
        admin,
      );
      expect(partner.redundancy?.members.map((m) => [m.name, m.priority])).toEqual([
        ["rt", 250],
        ["rt2", 240],
      ]);
      const settled = await waitFor(
        "rt MASTER, rt2 BACKUP",
        async () => {
          const r = await get(fx.registered.id);
          const states = (r.redundancy?.members ?? []).map((m) => `${m.name} ${m.vrrpState} ${m.connectionSync}`);
          return r.redundancy?.health === "ok" && states.join() === "rt MASTER running,rt2 BACKUP running"
            ? r
            : undefined;
        },
        60_000,
        300,
      );
      expect(settled.redundancy?.group).toBe("join-pair");
      expect(await holdsGateway(fx.router)).toBe(true);
      expect(await holdsGateway(rt2)).toBe(false);
      for (const r of [fx.router, rt2]) expect(await syncAnswers(r), `${r.name}'s conntrackd`).toBe(true);
    },
  );
});
