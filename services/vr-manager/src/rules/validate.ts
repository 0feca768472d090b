import {
  cidrPrefix,
  contains,
  type EgressRule,
  type FirewallRule,
  isNetworkOrBroadcast,
  type LoadBalancer,
  type Network,
  parseIpv4,
  type PortForward,
  type PublicIp,
  type RuleKind,
  type RuleOfKind,
  type StaticNat,
} from "@sdn/contracts";
import { conflict, invalidField } from "../errors.js";
import type { RuleBook } from "../store.js";

/** Rules of one kind a network may hold: far above real use, low enough to keep a push small. */
export const MAX_RULES_PER_KIND = 4096;

/** What a new rule is checked against. */
export interface RuleContext {
  network: Network;
  publicIps: PublicIp[];
  book: RuleBook;
  id: string;
  createdAt: string;
}

type Traffic = {
  protocol: "tcp" | "udp" | "icmp" | "all";
  startPort?: number;
  endPort?: number;
  icmpType?: number;
  icmpCode?: number;
};

const ownPublicIp = (c: RuleContext, publicIpId: string): PublicIp => {
  const p = c.publicIps.find((x) => x.id === publicIpId);
  if (p === undefined) {
    throw invalidField("publicIpId", `${publicIpId} is not a public IP of network ${c.network.name}`);
  }
  return p;
};

/** A VM address on the network: inside its CIDR, not its gateway, network or broadcast address. */
const guestAddress = (c: RuleContext, field: string, ip: string): string => {
  const prefix = cidrPrefix(c.network.cidr);
  const n = parseIpv4(ip);
  if (prefix === undefined || n === undefined || !contains(prefix, n) || isNetworkOrBroadcast(prefix, n)) {
    throw invalidField(field, `${ip} is not a guest address of network ${c.network.name} (${c.network.cidr})`);
  }
  if (ip === c.network.gateway) throw invalidField(field, `${ip} is the gateway of network ${c.network.name}`);
  return ip;
};

const checkCidrs = (field: string, cidrs: readonly string[] | undefined): string[] => {
  for (const cidr of cidrs ?? []) {
    if (cidrPrefix(cidr) === undefined) throw invalidField(field, `${cidr} is not an IPv4 CIDR without host bits`);
  }
  return cidrs === undefined || cidrs.length === 0 ? ["0.0.0.0/0"] : [...cidrs];
};

/** Protocol, ports and ICMP fields that fit together; the stored form has endPort filled in. */
const checkTraffic = <T extends Traffic>(r: T): T => {
  const ports = r.startPort !== undefined || r.endPort !== undefined;
  const icmp = r.icmpType !== undefined || r.icmpCode !== undefined;
  if (r.protocol === "tcp" || r.protocol === "udp") {
    if (icmp) throw invalidField("icmpType", `icmpType and icmpCode go with protocol icmp, not ${r.protocol}`);
    if (r.endPort !== undefined && r.startPort === undefined)
      throw invalidField("startPort", "endPort needs startPort");
    if (r.startPort !== undefined && (r.endPort ?? r.startPort) < r.startPort) {
      throw invalidField("endPort", `endPort ${r.endPort} is below startPort ${r.startPort}`);
    }
    return r.startPort === undefined ? r : { ...r, endPort: r.endPort ?? r.startPort };
  }
  if (ports) throw invalidField("startPort", `ports go with tcp or udp, not ${r.protocol}`);
  if (r.protocol === "all" && icmp) throw invalidField("icmpType", "icmpType and icmpCode go with protocol icmp");
  if (r.icmpCode !== undefined && r.icmpCode !== -1 && (r.icmpType ?? -1) === -1) {
    throw invalidField("icmpCode", "an ICMP code needs an ICMP type");
  }
  return r;
};

const overlaps = (a1: number, a2: number, b1: number, b2: number) => a1 <= b2 && b1 <= a2;

const staticNatOn = (c: RuleContext, publicIpId: string) => c.book.staticNats.find((s) => s.publicIpId === publicIpId);

const refuseStaticNatted = (c: RuleContext, p: PublicIp) => {
  const s = staticNatOn(c, p.id);
  if (s !== undefined)
    throw conflict(`${p.ip} is a static NAT of ${s.privateIp} (rule ${s.id}): it forwards everything already`);
};

type NewRule<K extends RuleKind> = Omit<
  RuleOfKind[K],
  "id" | "networkId" | "accountId" | "createdAt" | "publicIp" | "sourceCidrs" | "destinationCidrs"
> & { sourceCidrs?: string[]; destinationCidrs?: string[] };

const owner = (c: RuleContext) => ({
  id: c.id,
  networkId: c.network.id,
  accountId: c.network.accountId,
  createdAt: c.createdAt,
});

const portForward = (c: RuleContext, r: NewRule<"portForwards">): PortForward => {
  const p = ownPublicIp(c, r.publicIpId);
  refuseStaticNatted(c, p);
  const publicEndPort = r.publicEndPort ?? r.publicStartPort;
  const privateEndPort = r.privateEndPort ?? r.privateStartPort;
  if (publicEndPort < r.publicStartPort) throw invalidField("publicEndPort", "publicEndPort is below publicStartPort");
  if (privateEndPort < r.privateStartPort)
    throw invalidField("privateEndPort", "privateEndPort is below privateStartPort");
  if (publicEndPort - r.publicStartPort !== privateEndPort - r.privateStartPort) {
    throw invalidField("privateEndPort", "the public and private port ranges must be equally long");
  }
  const clash = c.book.portForwards.find(
    (x) =>
      x.publicIpId === p.id &&
      x.protocol === r.protocol &&
      overlaps(x.publicStartPort, x.publicEndPort, r.publicStartPort, publicEndPort),
  );
  if (clash !== undefined) {
    throw conflict(
      `${p.ip} ${r.protocol} ${clash.publicStartPort}-${clash.publicEndPort} is forwarded already (rule ${clash.id})`,
    );
  }
  const lb = c.book.loadBalancers.find(
    (x) =>
      r.protocol === "tcp" &&
      x.publicIpId === p.id &&
      overlaps(x.publicPort, x.publicPort, r.publicStartPort, publicEndPort),
  );
  if (lb !== undefined) throw conflict(`${p.ip} tcp ${lb.publicPort} is load balanced (rule ${lb.id})`);
  return {
    ...owner(c),
    publicIpId: p.id,
    publicIp: p.ip,
    protocol: r.protocol,
    publicStartPort: r.publicStartPort,
    publicEndPort,
    privateIp: guestAddress(c, "privateIp", r.privateIp),
    privateStartPort: r.privateStartPort,
    privateEndPort,
  };
};

const staticNat = (c: RuleContext, r: NewRule<"staticNats">): StaticNat => {
  const p = ownPublicIp(c, r.publicIpId);
  if (p.isSourceNat)
    throw invalidField("publicIpId", `${p.ip} is the network's source NAT address; acquire another one`);
  refuseStaticNatted(c, p);
  const used = [...c.book.portForwards, ...c.book.loadBalancers].find((x) => x.publicIpId === p.id);
  if (used !== undefined) throw conflict(`${p.ip} carries port forwarding or load balancing (rule ${used.id})`);
  const privateIp = guestAddress(c, "privateIp", r.privateIp);
  const vm = c.book.staticNats.find((x) => x.privateIp === privateIp);
  if (vm !== undefined) throw conflict(`${privateIp} has a static NAT already (${vm.publicIp}, rule ${vm.id})`);
  return { ...owner(c), publicIpId: p.id, publicIp: p.ip, privateIp };
};

const firewallRule = (c: RuleContext, r: NewRule<"firewallRules">): FirewallRule => {
  const p = ownPublicIp(c, r.publicIpId);
  const t = checkTraffic(r);
  return { ...owner(c), ...t, publicIpId: p.id, publicIp: p.ip, sourceCidrs: checkCidrs("sourceCidrs", r.sourceCidrs) };
};

const egressRule = (c: RuleContext, r: NewRule<"egressRules">): EgressRule => ({
  ...owner(c),
  ...checkTraffic(r),
  destinationCidrs: checkCidrs("destinationCidrs", r.destinationCidrs),
});

const loadBalancer = (c: RuleContext, r: NewRule<"loadBalancers">): LoadBalancer => {
  const p = ownPublicIp(c, r.publicIpId);
  refuseStaticNatted(c, p);
  const lb = c.book.loadBalancers.find((x) => x.publicIpId === p.id && x.publicPort === r.publicPort);
  if (lb !== undefined) throw conflict(`${p.ip}:${r.publicPort} is load balanced already (rule ${lb.id})`);
  const pf = c.book.portForwards.find(
    (x) =>
      x.publicIpId === p.id &&
      x.protocol === "tcp" &&
      overlaps(x.publicStartPort, x.publicEndPort, r.publicPort, r.publicPort),
  );
  if (pf !== undefined) throw conflict(`${p.ip} tcp ${r.publicPort} is forwarded (rule ${pf.id})`);
  r.members.forEach((m, i) => guestAddress(c, `members/${i}`, m));
  return { ...owner(c), ...r, publicIpId: p.id, publicIp: p.ip };
};

const VALIDATORS: { [K in RuleKind]: (c: RuleContext, r: NewRule<K>) => RuleOfKind[K] } = {
  portForwards: portForward,
  staticNats: staticNat,
  firewallRules: firewallRule,
  egressRules: egressRule,
  loadBalancers: loadBalancer,
};

/** Checks a new rule against the network, its public IPs and its other rules; the rule to store. */
export const validateRule = <K extends RuleKind>(kind: K, c: RuleContext, input: NewRule<K>): RuleOfKind[K] => {
  if (c.book[kind].length >= MAX_RULES_PER_KIND) {
    throw conflict(`network ${c.network.name} holds ${MAX_RULES_PER_KIND} ${kind} already, the most it may`);
  }
  return VALIDATORS[kind](c, input);
};

export type { NewRule };
