/**
 * IPv4 maths on unsigned 32-bit integers held in JS numbers (exact up to 2^53, so no
 * sign trouble above 2^31 as with `|` and `<<`): the guru's address plans and the
 * vr-manager's rule checks use the same parser, so an address one accepts the other does.
 */

export const IPV4_MAX = 0xffffffff;

/** Parses a dotted quad ("10.0.0.1"); undefined when it is not one (leading zeros refused). */
export const parseIpv4 = (text: string): number | undefined => {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const octet = Number(p);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
};

export const formatIpv4 = (value: number): string =>
  [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join(".");

/** An IPv4 prefix: `base` is the network address, `size` the number of addresses. */
export interface Ipv4Prefix {
  readonly base: number;
  readonly prefixLength: number;
  readonly size: number;
  /** Last address (the broadcast address). */
  readonly last: number;
}

export const prefixOf = (base: number, prefixLength: number): Ipv4Prefix => {
  const size = 2 ** (32 - prefixLength);
  return { base, prefixLength, size, last: base + size - 1 };
};

export const formatCidr = (p: Ipv4Prefix): string => `${formatIpv4(p.base)}/${p.prefixLength}`;

export const contains = (p: Ipv4Prefix, ip: number): boolean => ip >= p.base && ip <= p.last;

/** True for the network and broadcast addresses of prefixes up to /30 (/31 and /32 have none). */
export const isNetworkOrBroadcast = (p: Ipv4Prefix, ip: number): boolean =>
  p.prefixLength <= 30 && (ip === p.base || ip === p.last);

export type CidrProblem = "syntax" | "prefix-length" | "host-bits";

/**
 * Parses "a.b.c.d/n". A prefix whose host bits are set (10.0.0.5/24) is refused rather
 * than silently truncated: the caller most likely meant something else.
 */
export const parseCidr = (text: string): { prefix: Ipv4Prefix } | { problem: CidrProblem; message: string } => {
  const m = /^([^/]+)\/(0|[1-9][0-9]?)$/.exec(text);
  const ip = m === null ? undefined : parseIpv4(m[1] as string);
  if (m === null || ip === undefined) {
    return { problem: "syntax", message: `'${text}' is not an IPv4 CIDR such as 10.1.0.0/24` };
  }
  const prefixLength = Number(m[2]);
  if (prefixLength > 32) return { problem: "prefix-length", message: `prefix length /${prefixLength} is above /32` };
  const prefix = prefixOf(ip - (ip % 2 ** (32 - prefixLength)), prefixLength);
  if (prefix.base !== ip) {
    return {
      problem: "host-bits",
      message: `'${text}' has host bits set; the network address of that prefix is ${formatCidr(prefix)}`,
    };
  }
  return { prefix };
};

/** The prefix of a CIDR with no host bits set, or undefined (`parseCidr` says why). */
export const cidrPrefix = (text: string): Ipv4Prefix | undefined => {
  const parsed = parseCidr(text);
  return "prefix" in parsed ? parsed.prefix : undefined;
};

/** Special-purpose blocks a guest network or public range must not overlap. */
export const RESERVED_BLOCKS: readonly { prefix: Ipv4Prefix; name: string }[] = [
  { prefix: prefixOf(0, 8), name: "0.0.0.0/8 (this network)" },
  { prefix: prefixOf(127 * 2 ** 24, 8), name: "127.0.0.0/8 (loopback)" },
  { prefix: prefixOf(169 * 2 ** 24 + 254 * 2 ** 16, 16), name: "169.254.0.0/16 (link-local)" },
  { prefix: prefixOf(224 * 2 ** 24, 3), name: "224.0.0.0/3 (multicast and reserved)" },
];

export const overlaps = (a: Ipv4Prefix, b: Ipv4Prefix): boolean => a.base <= b.last && b.base <= a.last;

export const reservedBlockOverlapping = (p: Ipv4Prefix): string | undefined =>
  RESERVED_BLOCKS.find((r) => overlaps(r.prefix, p))?.name;
