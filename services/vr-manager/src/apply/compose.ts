import {
  cidrPrefix,
  contains,
  type Network,
  type Nic,
  parseIpv4,
  type PublicIp,
  type PublicIpRange,
  type RouterConfig,
  type VrrpConfig,
} from "@sdn/contracts";
import { createHash } from "node:crypto";
import type { GuruClient } from "../guru-client.js";
import type { ElementClient } from "../routers/element-client.js";
import { emptyRuleBook, pairKey, type RouterRecord, type RuleBook, type VrStore } from "../store.js";
import { guestServicesOf } from "./guest-services.js";

/** Where a router's configuration comes from. */
export interface ComposeSources {
  guru: GuruClient;
  store: VrStore;
  /** The guest NICs of each network (DHCP leases, names, metadata). */
  element: Pick<ElementClient, "nics">;
  leaseSeconds: number;
}

/** A router's whole desired configuration (its schema, checked before each push, is in contracts). */
export type { RouterConfig, VrrpConfig };

/** The pair's VRRP id (1–255), the same for both members since it comes from the group's name. */
export const virtualRouterIdOf = (group: string): number =>
  (createHash("sha256").update(group).digest().readUInt16BE(0) % 255) + 1;

const vrrpOf = async (router: RouterRecord, store: VrStore): Promise<VrrpConfig | undefined> => {
  const group = router.redundancyGroup;
  if (group === undefined || router.vrrp === undefined) return undefined;
  const peers = (await store.allRouters())
    .filter((r) => r.redundancyGroup === group && r.id !== router.id)
    .map((r) => r.controlAddress)
    .sort();
  return {
    group,
    virtualRouterId: virtualRouterIdOf(group),
    priority: router.vrrp.priority,
    sourceAddress: router.controlAddress,
    peers,
  };
};

/** Digest of a configuration (without generation): equal digests, equal configurations. */
export const digestOf = (c: RouterConfig): string =>
  `sha256:${createHash("sha256").update(JSON.stringify(c)).digest("hex")}`;

/** Counts of the rules in a configuration, as the events report them. */
export const ruleCount = (c: RouterConfig): number =>
  c.staticNats.length +
  c.portForwards.length +
  c.firewallRules.length +
  c.loadBalancers.length +
  c.interNetworkRoutes.length +
  c.networks.reduce((n, x) => n + x.egress.rules.length, 0);

const traffic = <P extends string>(r: {
  protocol: P;
  startPort?: number | undefined;
  endPort?: number | undefined;
  icmpType?: number | undefined;
  icmpCode?: number | undefined;
}) => ({
  protocol: r.protocol,
  ...((r.protocol === "tcp" || r.protocol === "udp") && r.startPort !== undefined
    ? { startPort: r.startPort, endPort: r.endPort ?? r.startPort }
    : {}),
  ...(r.protocol === "icmp" ? { icmpType: r.icmpType ?? -1, icmpCode: r.icmpCode ?? -1 } : {}),
});

const rangeOf = (ranges: PublicIpRange[], ip: string): PublicIpRange | undefined => {
  const n = parseIpv4(ip) ?? -1;
  return ranges.find((r) => {
    const p = cidrPrefix(r.cidr);
    return p !== undefined && contains(p, n);
  });
};

/**
 * Reads everything a router's configuration is made of — its networks and public IPs (from
 * the network-guru), their rule books and routes (from KV), their guest NICs (from the
 * ovs-element) — and builds it. Rules whose public IP the network no longer holds are left
 * out; a network that is gone is left out.
 */
export const composeConfig = async (router: RouterRecord, sources: ComposeSources): Promise<RouterConfig> => {
  const { guru, store } = sources;
  const parts = await Promise.all(
    router.networkIds.map(async (id) => {
      const network = await guru.network(id);
      if (network === undefined) return undefined;
      const [publicIps, book, nics] = await Promise.all([
        guru.publicIps(id),
        store.rules.get(id),
        sources.element.nics(id),
      ]);
      return { network, publicIps, nics, book: book?.value ?? emptyRuleBook(id, network.accountId) };
    }),
  );
  const present = parts.filter(
    (p): p is { network: Network; publicIps: PublicIp[]; nics: Nic[]; book: RuleBook } => p !== undefined,
  );
  const allIps = present.flatMap((p) => p.publicIps).sort((a, b) => (parseIpv4(a.ip) ?? 0) - (parseIpv4(b.ip) ?? 0));
  const ranges = allIps.length > 0 ? await guru.publicIpRanges() : [];
  const sourceNat = allIps.find((p) => p.isSourceNat) ?? allIps[0];
  const gateway =
    router.publicGateway ?? (sourceNat === undefined ? undefined : rangeOf(ranges, sourceNat.ip)?.gateway);

  const config: RouterConfig = {
    control: { port: router.controlPort, address: router.controlAddress },
    public: {
      interface: router.publicInterface,
      gateway: gateway ?? null,
      addresses: allIps.map((p) => ({
        ip: p.ip,
        prefixLength: Number(rangeOf(ranges, p.ip)?.cidr.split("/")[1] ?? 32),
      })),
    },
    networks: [],
    staticNats: [],
    portForwards: [],
    firewallRules: [],
    loadBalancers: [],
    interNetworkRoutes: [],
  };
  for (const { network, publicIps, nics, book } of present) {
    const ipOf = new Map(publicIps.map((p) => [p.id, p.ip]));
    const held = <T extends { publicIpId: string }>(rules: T[]) =>
      rules.flatMap((r) => {
        const ip = ipOf.get(r.publicIpId);
        return ip === undefined ? [] : [{ rule: r, publicIp: ip }];
      });
    const nic = router.nics.find((n) => n.networkId === network.id);
    const sourceNatIp = publicIps.find((p) => p.isSourceNat)?.ip ?? null;
    const staticNatOf = new Map(held(book.staticNats).map(({ rule, publicIp }) => [rule.privateIp, publicIp]));
    config.networks.push({
      id: network.id,
      cidr: network.cidr,
      gateway: network.gateway,
      interface: nic?.interface ?? null,
      mac: nic?.mac ?? null,
      mtu: nic?.mtu ?? network.mtu,
      sourceNatIp,
      egress: {
        default: book.egressDefault,
        rules: book.egressRules.map((r) => ({ id: r.id, ...traffic(r), destinationCidrs: r.destinationCidrs })),
      },
      guestServices: guestServicesOf(network, nics, (ip) => staticNatOf.get(ip) ?? sourceNatIp, sources.leaseSeconds),
    });
    for (const { rule, publicIp } of held(book.staticNats)) {
      config.staticNats.push({ id: rule.id, publicIp, privateIp: rule.privateIp });
    }
    for (const { rule, publicIp } of held(book.portForwards)) {
      config.portForwards.push({
        id: rule.id,
        publicIp,
        protocol: rule.protocol,
        publicStartPort: rule.publicStartPort,
        publicEndPort: rule.publicEndPort,
        privateIp: rule.privateIp,
        privateStartPort: rule.privateStartPort,
        privateEndPort: rule.privateEndPort,
      });
    }
    for (const { rule, publicIp } of held(book.firewallRules)) {
      config.firewallRules.push({ id: rule.id, publicIp, ...traffic(rule), sourceCidrs: rule.sourceCidrs });
    }
    for (const { rule, publicIp } of held(book.loadBalancers)) {
      config.loadBalancers.push({
        id: rule.id,
        publicIp,
        publicPort: rule.publicPort,
        privatePort: rule.privatePort,
        algorithm: rule.algorithm,
        members: rule.members,
        healthCheck: { intervalMs: 2000, fall: 2, rise: 2, ...rule.healthCheck },
      });
    }
  }
  const served = new Set(present.map((p) => p.network.id));
  const pairs = new Map<string, [string, string]>();
  for (const id of served) {
    for (const route of await store.routesOf(id)) {
      const [a, b] = route.networkIds as [string, string];
      if (served.has(a) && served.has(b)) pairs.set(pairKey(a, b), [a, b]);
    }
  }
  const vrrp = await vrrpOf(router, store);
  if (vrrp !== undefined) config.vrrp = vrrp;
  config.interNetworkRoutes = [...pairs.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, p]) => p);
  // One domain per network of a router: a second network with the same one (same name, or
  // set so) gets a subdomain of its own rather than a refused push.
  const domains = new Set<string>();
  for (const n of config.networks) {
    const gs = n.guestServices;
    if (domains.has(gs.domain)) gs.domain = `${n.id.slice(0, 8)}.${gs.domain}`;
    domains.add(gs.domain);
  }
  // Guests reach the networks theirs is routed to through their gateway (DHCP option 121).
  const cidrOf = new Map(config.networks.map((n) => [n.id, n.cidr]));
  for (const n of config.networks) {
    n.guestServices.routes = config.interNetworkRoutes
      .flatMap(([a, b]) => (a === n.id ? [b] : b === n.id ? [a] : []))
      .map((peer) => ({ cidr: cidrOf.get(peer) as string }));
  }
  return config;
};
