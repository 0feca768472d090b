/** IPv4 arithmetic for rule checks (addresses as unsigned 32-bit numbers). */

export const parseIpv4 = (s: string): number | undefined => {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
};

export interface Prefix {
  base: number;
  length: number;
}

/** A CIDR with no host bits set, or undefined. */
export const parseCidr = (s: string): Prefix | undefined => {
  const [ip, len] = s.split("/");
  const base = parseIpv4(ip ?? "");
  const length = Number(len);
  if (base === undefined || !/^[0-9]{1,2}$/.test(len ?? "") || length > 32) return undefined;
  const size = 2 ** (32 - length);
  return base % size === 0 ? { base, length } : undefined;
};

export const contains = (p: Prefix, ip: number): boolean => ip >= p.base && ip < p.base + 2 ** (32 - p.length);

/** True for the network and broadcast addresses of prefixes up to /30. */
export const isNetworkOrBroadcast = (p: Prefix, ip: number): boolean =>
  p.length <= 30 && (ip === p.base || ip === p.base + 2 ** (32 - p.length) - 1);
