import { CreateNetwork, ImplementNetwork, type Network, type PublicIp, type Router } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execQuiet, inNetns, Lab, type KvmLabHost, type LabVm } from "../lab/index.js";
import {
  committed,
  destroy,
  keepTrying,
  LabStream,
  serveStream,
  sleep,
  streamAfter,
  syncAnswers,
  triesReport,
} from "./pair-traffic.js";
import { LabInternet, LabRouter, ping, probe, serveProbe } from "./router-lab.js";
import { OUTSIDE_IP, RouterStack } from "./router-stack.js";

/*
 * A redundant router pair with real traffic: network A served by rtA (on kvm1, registered
 * first: priority 100) and rtB (on kvm2), keepalived VRRP between their control addresses
 * on the lab's management network. VM a1 on kvm1 pings the internet and is reached through
 * a port forward while the master's namespace is destroyed, then rebuilt; two TCP streams
 * established before (through the source NAT and a port forward) go on, conntrackd having
 * synchronised their connection tracking.
 */

let lab: Lab;
let kvm1: KvmLabHost;
let kvm2: KvmLabHost;
let api: RouterStack;
let internet: LabInternet;
let key: string;
let net: Network;
let pip: PublicIp;
let a1: LabVm;
const routers: Record<"rtA" | "rtB", LabRouter> = {} as never;
const ids: Record<"rtA" | "rtB", string> = {} as never;

const GROUP = "pair-a";

const getRouter = (name: "rtA" | "rtB") =>
  api.ok<Router>("GET", `/v1/routers/${ids[name]}`, undefined, 200, api.adminToken);

/** The pair as the vr-manager last saw it: each member's VRRP state, once it settled on one master. */
const pairSettledOn = (master: "rtA" | "rtB") =>
  waitFor(
    `${master} MASTER of the pair, the other BACKUP`,
    async () => {
      const r = await getRouter(master);
      const states = Object.fromEntries((r.redundancy?.members ?? []).map((m) => [m.name, m.vrrpState]));
      const other = master === "rtA" ? "rtB" : "rtA";
      return r.redundancy?.health === "ok" && states[master] === "MASTER" && states[other] === "BACKUP" ? r : undefined;
    },
    60_000,
    300,
  );

/** Waits until the vr-manager sees `master` as the pair's only MASTER (the other member may be away). */
const pairSettledOnMaster = (master: "rtA" | "rtB") =>
  waitFor(
    `${master} the only MASTER`,
    async () => {
      const r = await getRouter(master);
      return r.redundancy?.health === "ok" && r.vrrpState === "MASTER" ? r : undefined;
    },
    60_000,
    300,
  );

/** A router namespace on `host` (control address .hostNumber on the underlay), its public and guest interfaces. */
const buildRouter = async (name: "rtA" | "rtB", hostNumber: number, host: KvmLabHost, device: string) => {
  const r = await LabRouter.create(lab, name);
  await r.controlOnUnderlay(lab, hostNumber);
  await internet.plug(r, `p-${name}`);
  await r.guestInterface(host, "eth2", device);
  await r.startSshd([key]);
  routers[name] = r;
  return r;
};

const registerBody = (r: LabRouter, host: string, device: string) => ({
  name: r.name,
  hostId: api.hostIds[host] as string,
  vmId: `vm-${r.name}`,
  networkIds: [net.id],
  nics: [{ networkId: net.id, interface: "eth2", hostInterface: device }],
  controlAddress: r.controlAddress,
  hostKeyFingerprint: r.hostKeyFingerprint,
  publicInterface: "eth1",
  redundancyGroup: GROUP,
});

beforeAll(async () => {
  lab = await Lab.create();
  [kvm1, kvm2] = [await lab.addKvmHost("kvm1"), await lab.addKvmHost("kvm2")];
  api = await RouterStack.start(lab, [kvm1, kvm2], {
    vrManager: {
      SDN_VR_CONNECT_TIMEOUT_MS: "2000",
      // No periodic check during the test: VRRP states, failovers and a member's return are
      // seen through the vr-manager's watch of each member.
      SDN_VR_CHECK_INTERVAL_MS: "600000",
    },
  });
  const created = await api.send(CreateNetwork, { name: "net-A", cidr: "10.1.0.0/24" }, "tenant");
  net = await api.send(ImplementNetwork, { networkId: created.id }, "tenant");
  pip = await api.ok<PublicIp>("POST", "/v1/public-ips", { networkId: net.id });

  a1 = await api.plugVm(kvm1, "a1", net, "10.1.0.11");
  await serveProbe(a1.ns, 80, "vmA1");
  // Long-lived streams: from the internet to the VM (through the source NAT) and from the VM
  // (through a port forward).
  await serveStream(a1.ns, 81);

  internet = await LabInternet.create(lab, "out", [`${OUTSIDE_IP}/24`]);
  await serveStream(internet.ns, 9000);
  key = await api.routerKey();
  await buildRouter("rtA", 200, kvm1, "vrAa");
  await buildRouter("rtB", 201, kvm2, "vrBa");
}, 180_000);

afterAll(async () => {
  await api?.close();
  await lab?.dispose();
});

const gatewayOn = async (r: LabRouter) =>
  (await r.exec(["ip", "-4", "-o", "addr", "show", "dev", "eth2"])).stdout.includes(`${net.gateway}/24`);

describe("vr-manager: a redundant router pair (keepalived VRRP) with real traffic", () => {
  it(
    "registers two members of a group on two hosts; the first becomes MASTER, the second BACKUP",
    { timeout: 120_000 },
    async () => {
      const first = await api.ok<Router>(
        "POST",
        "/v1/routers",
        registerBody(routers.rtA, "kvm1", "vrAa"),
        201,
        api.adminToken,
      );
      ids.rtA = first.id;
      expect(first.redundancy).toMatchObject({ group: GROUP, health: "single" });
      expect(first).not.toHaveProperty("vrrp"); // the VRRP bookkeeping stays in the vr-manager
      // Alone, it takes the addresses (VRRP's takeover time after keepalived starts).
      await waitFor(
        "rtA MASTER alone",
        async () => ((await getRouter("rtA")).vrrpState === "MASTER" ? true : undefined),
        60_000,
        300,
      );

      // A pair needs two hosts; a third member is refused.
      const sameHost = await api.http("POST", "/v1/routers", registerBody(routers.rtB, "kvm1", "vrBa"), api.adminToken);
      expect(sameHost.statusCode, sameHost.body).toBe(422);
      expect(sameHost.body).toContain("two hosts");

      const second = await api.ok<Router>(
        "POST",
        "/v1/routers",
        registerBody(routers.rtB, "kvm2", "vrBa"),
        201,
        api.adminToken,
      );
      ids.rtB = second.id;
      expect(second.redundancy?.members.map((m) => [m.name, m.priority])).toEqual([
        ["rtA", 250],
        ["rtB", 240],
      ]);
      const settled = await pairSettledOn("rtA");
      // Both members synchronise their connection tracking (conntrackd, FTFW on the control link).
      expect(settled.redundancy?.members.map((m) => m.connectionSync)).toEqual(["running", "running"]);
      for (const r of [routers.rtA, routers.rtB]) expect(await syncAnswers(r), `${r.name}'s conntrackd`).toBe(true);
      expect(await gatewayOn(routers.rtA)).toBe(true);
      expect(await gatewayOn(routers.rtB)).toBe(false);
      // Both run the same configuration under the same generation.
      expect(routers.rtA.savedState().generation).toBe(routers.rtB.savedState().generation);
      await waitFor("RouterFailover to rtA", async () =>
        api.events.find((e) => e.type === "RouterFailover" && e.data["to"] === ids.rtA) === undefined
          ? undefined
          : true,
      );
      const listed = await api.ok<{ routers: Router[] }>("GET", "/v1/routers", undefined, 200, api.adminToken);
      expect(listed.routers.map((r) => [r.name, r.vrrpState])).toEqual([
        ["rtA", "MASTER"],
        ["rtB", "BACKUP"],
      ]);
    },
  );

  it(
    "serves the network through the master: ping to the internet, a port forward from it",
    { timeout: 120_000 },
    async () => {
      const a = `/v1/networks/${net.id}`;
      await api.ok("POST", `${a}/port-forwards`, {
        publicIpId: pip.id,
        protocol: "tcp",
        publicStartPort: 8080,
        privateIp: "10.1.0.11",
        privateStartPort: 80,
      });
      await api.ok("POST", `${a}/firewall-rules`, {
        publicIpId: pip.id,
        protocol: "tcp",
        startPort: 8000,
        endPort: 9100,
        sourceCidrs: ["0.0.0.0/0"],
      });
      await api.ok("POST", `${a}/port-forwards`, {
        publicIpId: pip.id,
        protocol: "tcp",
        publicStartPort: 8082,
        privateIp: "10.1.0.11",
        privateStartPort: 81,
      });
      expect(await ping(a1.ns, OUTSIDE_IP)).toBe(true);
      expect(await probe(internet.ns, pip.ip, 8080)).toBe(`vmA1 ${OUTSIDE_IP}`);
    },
  );

  it(
    "keeps both working when the master's namespace is destroyed (the gap is printed)",
    { timeout: 120_000 },
    async () => {
      const pings = keepTrying(
        async () => (await execQuiet(inNetns(a1.ns, ["ping", "-c", "1", "-W", "1", OUTSIDE_IP]))).code === 0,
      );
      const gets = keepTrying(
        async () => (await probe(internet.ns, pip.ip, 8080, { timeoutS: 1 })) === `vmA1 ${OUTSIDE_IP}`,
      );
      // Each try starts a process in a namespace: slow, and sometimes past its 1 s, on a loaded machine.
      await waitFor(
        "both working before",
        async () => (pings.successes.length > 0 && gets.successes.length > 0 ? true : undefined),
        30_000,
      );
      // Established before the loss: a stream from the internet to the VM (its connection out
      // through the source NAT) and one from the VM to the internet (in through a port forward).
      const outbound = await LabStream.open(lab, a1.ns, OUTSIDE_IP, 9000);
      const inbound = await LabStream.open(lab, internet.ns, pip.ip, 8082);
      // conntrackd sends each new flow at once (FTFW); a moment for its TCP state to follow.
      await sleep(1000);
      const killedAt = Date.now();
      await destroy(routers.rtA);
      try {
        await waitFor(
          "ping and port forward back through rtB",
          async () => (pings.after(killedAt).length >= 3 && gets.after(killedAt).length >= 3 ? true : undefined),
          60_000,
          300,
        );
      } finally {
        await pings.stop();
        await gets.stop();
      }
      console.log(
        `[redundant routers] failover, target: new connections within 3000 ms (loaded shared machine, noisy):\n` +
          `  ${triesReport("ping VM → internet", pings, killedAt)}\n` +
          `  ${triesReport("HTTP internet → port forward", gets, killedAt)}`,
      );
      // The established streams go on, not reset: their connection tracking was committed on rtB.
      const streams = { "VM's connection out (source NAT)": outbound, "port forward (internet → VM)": inbound };
      for (const [what, st] of Object.entries(streams)) {
        const after = await streamAfter(st, killedAt);
        expect(after.end, `the ${what} stream ended`).toBeUndefined();
        console.log(
          `[redundant routers] established TCP stream through the ${what}, a byte every 50 ms: kept, ` +
            `longest gap ${after.gap} ms (TCP retransmission after VRRP's takeover)`,
        );
      }
      console.log(`[redundant routers] rtB's conntrackd: ${committed(routers.rtB)}`);
      await pairSettledOnMaster("rtB");
      const failover = await waitFor("RouterFailover rtA → rtB", async () =>
        api.events.find((e) => e.type === "RouterFailover" && e.data["from"] === ids.rtA && e.data["to"] === ids.rtB),
      );
      // keepalived's notify recorded when rtB became master (same clock: the lab's namespaces share it).
      const masterAt = (
        JSON.parse(readFileSync(join(routers.rtB.stateDir, "vrrp", "state"), "utf8")) as { state: string; at: number }
      ).at;
      console.log(
        `[redundant routers] RouterFailover received ${failover.receivedAt - Math.round(masterAt * 1000)} ms after rtB ` +
          `became MASTER, ${failover.receivedAt - killedAt} ms after rtA was destroyed (no periodic check)`,
      );
      expect(await gatewayOn(routers.rtB)).toBe(true);
    },
  );

  it("applies a rule change made while the backup is master on it, and keeps it for the old master", async () => {
    const pf = await api.ok<{ apply: { status: string; message?: string } }>(
      "POST",
      `/v1/networks/${net.id}/port-forwards`,
      {
        publicIpId: pip.id,
        protocol: "tcp",
        publicStartPort: 8081,
        privateIp: "10.1.0.11",
        privateStartPort: 80,
      },
    );
    expect(pf.apply.status).toBe("applied");
    expect(pf.apply.message).toContain("unreachable");
    expect(await probe(internet.ns, pip.ip, 8081)).toBe(`vmA1 ${OUTSIDE_IP}`);
  });

  it(
    "the old master comes back as BACKUP (preempt off), with the rule changed meanwhile",
    { timeout: 120_000 },
    async () => {
      await buildRouter("rtA", 200, kvm1, "vrAa");
      await pairSettledOn("rtB");
      // It stays backup: the master keeps the addresses well past VRRP's takeover time.
      await sleep(5000);
      expect(await gatewayOn(routers.rtA)).toBe(false);
      expect(await gatewayOn(routers.rtB)).toBe(true);
      expect((await getRouter("rtB")).vrrpState).toBe("MASTER");
      // Both members run the rule made while rtA was away, under one generation.
      for (const r of [routers.rtA, routers.rtB]) expect(await r.iptables()).toContain("--dport 8081");
      expect(routers.rtA.savedState().generation).toBe(routers.rtB.savedState().generation);
      expect(await probe(internet.ns, pip.ip, 8081)).toBe(`vmA1 ${OUTSIDE_IP}`);
      expect(await ping(a1.ns, OUTSIDE_IP)).toBe(true);
    },
  );
});
