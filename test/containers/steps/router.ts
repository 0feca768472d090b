import { waitFor } from "@sdn/testkit";
import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import { RouterLab, type LabContainer, type LabRouter } from "../router-lab.js";
import { tenantOf, type Scenario } from "../scenario.js";
import type { ContainerSystem } from "../system.js";
import {
  BALANCED_PORT,
  EGRESS_EXCEPTION_PORT,
  FORWARDED_PORT,
  networkId,
  PUBLIC_CIDR,
  PUBLIC_GATEWAY,
  STATIC_NAT_VM,
  WEB_VM,
} from "./rules.js";

/** A host on the internet side, outside the public range the tenants' addresses come from. */
const INTERNET_HOST = "203.0.113.5";
const DB_VM = "10.20.1.10";
/** The engine's own address on each guest bridge: clear of the network's gateway (.1, the router's) and VMs. */
const GUEST_BRIDGE = { web: "10.20.0.254", db: "10.20.1.254" };

/**
 * L3 rules proved with traffic through a real router: containers stand for the internet
 * (203.0.113.0/24, the public range's subnet) and acme's two networks with their VMs; a
 * router appliance joins them all and is registered over HTTP. It applies the rules the
 * rules step stored; probes then show port forwarding, the ingress firewall, load
 * balancing, source and static NAT, the egress policy and routing between the networks.
 */
export const routerSteps = (system: () => ContainerSystem, scenario: Scenario): void => {
  let internet: LabContainer;
  let webVm: LabContainer;
  let staticNatVm: LabContainer;
  let dbVm: LabContainer;
  let router: LabRouter;
  /** acme/web's public addresses: its source NAT one and its static NAT one. */
  let sourceNatIp: string;
  let staticNatIp: string;

  const acme = () => tenantOf(scenario, "acme");
  const web = () => `/v1/networks/${networkId(scenario, "acme/web")}`;
  const asAcme = (method: string, path: string, body?: unknown) =>
    system().api(method, path, { token: acme().token, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    const ips = (await asAcme("GET", `/v1/public-ips?networkId=${networkId(scenario, "acme/web")}`)).body[
      "publicIps"
    ] as { ip: string; isSourceNat: boolean }[];
    sourceNatIp = ips.find((p) => p.isSourceNat)!.ip;
    staticNatIp = ips.find((p) => !p.isSourceNat)!.ip;
  });

  it("runs the internet, acme's networks with their VMs and a router appliance as containers", async () => {
    const lab = await RouterLab.create(system());
    await lab.network({ role: "internet", subnet: PUBLIC_CIDR, bridgeAddress: PUBLIC_GATEWAY });
    await lab.network({ role: "web", subnet: "10.20.0.0/24", bridgeAddress: GUEST_BRIDGE.web });
    await lab.network({ role: "db", subnet: "10.20.1.0/24", bridgeAddress: GUEST_BRIDGE.db });
    [internet, webVm, staticNatVm, dbVm] = await Promise.all([
      lab.host({ name: "internet", network: "internet", address: INTERNET_HOST, serves: [80, EGRESS_EXCEPTION_PORT] }),
      lab.host({ name: "web-vm", network: "web", address: WEB_VM, serves: [80], defaultGateway: "10.20.0.1" }),
      lab.host({ name: "nat-vm", network: "web", address: STATIC_NAT_VM, serves: [80], defaultGateway: "10.20.0.1" }),
      lab.host({ name: "db-vm", network: "db", address: DB_VM, serves: [80], defaultGateway: "10.20.1.1" }),
    ]);
    const key = await system().api("GET", "/v1/routers/ssh-key");
    expect(key.status).toBe(200);
    router = await lab.router("vr-acme", String(key.body["publicKey"]), [
      ["internet", "203.0.113.2"],
      ["web", "10.20.0.253"],
      ["db", "10.20.1.253"],
    ]);
    // Nothing routes yet: the VMs' gateway address is the router's to take.
    expect(await internet.probe(sourceNatIp, FORWARDED_PORT)).toBeUndefined();
    expect(await webVm.probe(DB_VM, 80)).toBeUndefined();
  });

  const registration = (hostKeyFingerprint: string) => ({
    name: "vr-acme",
    hostId: "container-host",
    vmId: "vr-acme",
    networkIds: [networkId(scenario, "acme/web"), networkId(scenario, "acme/db")],
    plugNics: false,
    nics: [
      { networkId: networkId(scenario, "acme/web"), interface: router.interfaces.get("web") },
      { networkId: networkId(scenario, "acme/db"), interface: router.interfaces.get("db") },
    ],
    controlAddress: router.controlAddress,
    hostKeyFingerprint,
    publicInterface: router.interfaces.get("internet"),
  });

  it("registers the router (admin) over ssh with its pinned host key; it applies the stored rules", async () => {
    const impostor = `SHA256:${randomBytes(32).toString("base64").replace(/=+$/, "")}`;
    const refused = await system().api("POST", "/v1/routers", { body: registration(impostor) });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body["error"]).toMatchObject({ details: { reason: "HOST_KEY_MISMATCH" } });

    const res = await system().api("POST", "/v1/routers", { body: registration(router.hostKeyFingerprint) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ state: "Applied", appliedGeneration: res.body["generation"] });
    const listed = (await system().api("GET", "/v1/routers")).body["routers"] as { id: string }[];
    expect(listed.map((r) => r.id)).toEqual([res.body["id"]]);
    // The router program itself says what it runs.
    const state = JSON.parse((await router.exec(["/opt/sdn-router/sdn-router", "state"])).output) as {
      result: { generation: number; summary: Record<string, number> };
    };
    expect(state.result.generation).toBe(res.body["appliedGeneration"]);
    expect(state.result.summary).toMatchObject({ portForwards: 1, staticNats: 1, firewallRules: 2, loadBalancers: 1 });
  });

  it("forwards public-ip:8080 to the VM through the firewall, refuses an unforwarded port, balances port 80", async () => {
    // The VM sees the client's own address: DNAT, no masquerading.
    expect(await internet.probe(sourceNatIp, FORWARDED_PORT)).toBe(`web-vm ${INTERNET_HOST}`);
    expect(await internet.probe(sourceNatIp, FORWARDED_PORT + 1)).toBeUndefined();
    // haproxy on the router; its health check brings the member up within a few seconds.
    const balanced = await waitFor(
      "the load balancer to answer",
      () => internet.probe(sourceNatIp, BALANCED_PORT),
      30_000,
      500,
    );
    expect(balanced).toMatch(/^web-vm 10\.20\.0\./);
    // No firewall rule opens the static NAT address.
    expect(await internet.probe(staticNatIp, 80)).toBeUndefined();
    scenario.traffic.set("port forward", async () => {
      expect(await internet.probe(sourceNatIp, FORWARDED_PORT), "port forward after the faults").toBe(
        `web-vm ${INTERNET_HOST}`,
      );
    });
  });

  it("sends the VMs out as the network's public IP (source NAT, static NAT); the egress policy decides what leaves", async () => {
    const setPolicy = async (defaultPolicy: "allow" | "deny") => {
      const res = await asAcme("PUT", `${web()}/egress-policy`, { defaultPolicy });
      expect(res.body).toMatchObject({ defaultPolicy, apply: { status: "applied" } });
    };
    // Default deny (the rules step), with an egress rule letting one port out.
    expect(await webVm.probe(INTERNET_HOST, EGRESS_EXCEPTION_PORT)).toBe(`internet ${sourceNatIp}`);
    expect(await staticNatVm.probe(INTERNET_HOST, EGRESS_EXCEPTION_PORT)).toBe(`internet ${staticNatIp}`);
    expect(await webVm.probe(INTERNET_HOST, 80)).toBeUndefined();
    // Default allow: the same rule now blocks its port.
    await setPolicy("allow");
    expect(await webVm.probe(INTERNET_HOST, 80)).toBe(`internet ${sourceNatIp}`);
    expect(await webVm.probe(INTERNET_HOST, EGRESS_EXCEPTION_PORT)).toBeUndefined();
    await setPolicy("deny");
    expect(await webVm.probe(INTERNET_HOST, 80)).toBeUndefined();
  });

  it("routes between acme's two networks of one router once enabled, both ways", async () => {
    const res = await asAcme("POST", `${web()}/inter-network-routes`, {
      peerNetworkId: networkId(scenario, "acme/db"),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ apply: { status: "applied" } });
    expect(await webVm.probe(DB_VM, 80)).toBe(`db-vm ${WEB_VM}`);
    expect(await dbVm.probe(WEB_VM, 80)).toBe(`web-vm ${DB_VM}`);
    for (const key of ["acme/web", "acme/db"]) {
      const path = `/v1/networks/${networkId(scenario, key)}/inter-network-routes`;
      const listed = await asAcme("GET", path);
      expect(
        (listed.body["interNetworkRoutes"] as { id: string }[]).map((r) => r.id),
        key,
      ).toEqual([res.body["id"]]);
      scenario.rules.set(path, { token: acme().token, body: listed.body });
    }
  });
};
