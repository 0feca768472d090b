import {
  type AddressRange,
  contains,
  formatCidr,
  type Ipv4Prefix,
  type Network,
  parseCidr,
  parseIpv4,
  prefixOf,
  reservedBlockOverlapping,
} from "@sdn/contracts";
import { isBlocked, mergeIntervals, type Interval } from "./free-slots.js";
import { invalidField } from "./guru-errors.js";

/** Largest and smallest guest prefixes: /31 and /32 leave nothing to hand out besides the gateway. */
export const MIN_PREFIX_LENGTH = 8;
export const MAX_PREFIX_LENGTH = 30;

/** Parses and checks a prefix given in `field`; every refusal names the field. */
export const checkPrefix = (field: string, cidr: string): Ipv4Prefix => {
  const parsed = parseCidr(cidr);
  if ("problem" in parsed) throw invalidField(field, parsed.message);
  const p = parsed.prefix;
  if (p.prefixLength > MAX_PREFIX_LENGTH) {
    throw invalidField(
      field,
      `${cidr} is too small: a /${p.prefixLength} leaves no address to hand out besides the gateway; ` +
        `use /${MAX_PREFIX_LENGTH} or shorter`,
    );
  }
  if (p.prefixLength < MIN_PREFIX_LENGTH) {
    throw invalidField(field, `${cidr} is larger than the largest supported prefix, /${MIN_PREFIX_LENGTH}`);
  }
  const reserved = reservedBlockOverlapping(p);
  if (reserved !== undefined) throw invalidField(field, `${cidr} overlaps the special-purpose block ${reserved}`);
  return p;
};

/** A host address of the prefix: inside it, and neither its network nor its broadcast address. */
export const checkHostAddress = (field: string, text: string, p: Ipv4Prefix, role: string): number => {
  const ip = parseIpv4(text);
  if (ip === undefined) throw invalidField(field, `${role} '${text}' is not an IPv4 address`);
  if (!contains(p, ip)) throw invalidField(field, `${role} ${text} is outside ${formatCidr(p)}`);
  if (ip === p.base) throw invalidField(field, `${role} ${text} is the network address of ${formatCidr(p)}`);
  if (ip === p.last) throw invalidField(field, `${role} ${text} is the broadcast address of ${formatCidr(p)}`);
  return ip;
};

const UNUSABLE_DNS = [prefixOf(0, 8), prefixOf(127 * 2 ** 24, 8), prefixOf(224 * 2 ** 24, 3)];

export const checkDns = (dns: readonly string[]): void => {
  dns.forEach((text, i) => {
    const ip = parseIpv4(text);
    if (ip === undefined || UNUSABLE_DNS.some((p) => contains(p, ip))) {
      throw invalidField(`dns/${i}`, `DNS server ${text} is not a unicast address a guest can reach`);
    }
  });
};

/** CIDR and gateway of a new network, checked; the gateway defaults to the first usable address. */
export const designPlan = (cidr: string, gateway: string | undefined): { prefix: Ipv4Prefix; gateway: number } => {
  const prefix = checkPrefix("cidr", cidr);
  return {
    prefix,
    gateway: gateway === undefined ? prefix.base + 1 : checkHostAddress("gateway", gateway, prefix, "gateway"),
  };
};

/** Where a network's guest addresses come from: [lo, hi] minus `blocked` (gateway, exclusions). */
export interface AddressPlan {
  readonly prefix: Ipv4Prefix;
  readonly gateway: number;
  readonly lo: number;
  readonly hi: number;
  readonly blocked: readonly Interval[];
}

export const rangeInterval = (r: AddressRange): Interval => [parseIpv4(r.start) ?? 0, parseIpv4(r.end) ?? 0];

export const addressPlanOf = (net: Network): AddressPlan => {
  const parsed = parseCidr(net.cidr);
  if ("problem" in parsed) throw new Error(`stored network ${net.id} has a bad CIDR ${net.cidr}`);
  const prefix = parsed.prefix;
  const gateway = parseIpv4(net.gateway) ?? prefix.base + 1;
  const lo = prefix.base + 1;
  const hi = prefix.last - 1;
  return {
    prefix,
    gateway,
    lo,
    hi,
    blocked: mergeIntervals(lo, hi, [[gateway, gateway], ...net.excludedRanges.map(rangeInterval)]),
  };
};

export const isExcluded = (net: Network, ip: number): boolean =>
  net.excludedRanges.some((r) => {
    const [a, b] = rangeInterval(r);
    return ip >= a && ip <= b;
  });

/** A requested guest address, checked against the plan; refusals name the field `ip`. */
export const checkRequestedAddress = (plan: AddressPlan, text: string): number => {
  const ip = checkHostAddress("ip", text, plan.prefix, "address");
  if (ip === plan.gateway) throw invalidField("ip", `address ${text} is the gateway of ${formatCidr(plan.prefix)}`);
  if (isBlocked(plan.blocked, ip)) throw invalidField("ip", `address ${text} lies in a range excluded from IPAM`);
  return ip;
};
