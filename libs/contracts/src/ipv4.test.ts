import { describe, expect, it } from "vitest";
import {
  cidrPrefix,
  contains,
  formatCidr,
  formatIpv4,
  isNetworkOrBroadcast,
  parseCidr,
  parseIpv4,
  prefixOf,
  reservedBlockOverlapping,
} from "./ipv4.js";

describe("IPv4 addresses", () => {
  it("parses and formats dotted quads, above 2^31 too", () => {
    expect(parseIpv4("0.0.0.0")).toBe(0);
    expect(parseIpv4("10.1.2.3")).toBe(0x0a010203);
    expect(parseIpv4("255.255.255.255")).toBe(4294967295);
    expect(parseIpv4("203.0.113.7")).toBe(3405803783);
    expect(formatIpv4(3405803783)).toBe("203.0.113.7");
    expect(formatIpv4(4294967295)).toBe("255.255.255.255");
  });

  it("refuses what is not a dotted quad", () => {
    for (const bad of ["", "10.0.0", "10.0.0.0.1", "10.0.0.256", "10.0.0.01", "a.b.c.d", "10.0.0.-1", " 10.0.0.1"]) {
      expect(parseIpv4(bad), bad).toBeUndefined();
    }
  });
});

describe("IPv4 prefixes", () => {
  it("parses a CIDR into network address, size and broadcast", () => {
    const p = parseCidr("10.1.16.0/20");
    expect(p).toEqual({
      prefix: { base: parseIpv4("10.1.16.0"), prefixLength: 20, size: 4096, last: parseIpv4("10.1.31.255") },
    });
    const high = parseCidr("192.168.255.252/30");
    expect("prefix" in high && formatIpv4(high.prefix.last)).toBe("192.168.255.255");
    expect("prefix" in high && formatCidr(high.prefix)).toBe("192.168.255.252/30");
  });

  it("names what is wrong with a bad CIDR", () => {
    expect(parseCidr("10.0.0.5/24")).toMatchObject({
      problem: "host-bits",
      message: expect.stringContaining("10.0.0.0/24"),
    });
    expect(parseCidr("10.0.0.0/33")).toMatchObject({ problem: "prefix-length" });
    expect(parseCidr("10.0.0.0")).toMatchObject({ problem: "syntax" });
    expect(parseCidr("10.0.0.300/24")).toMatchObject({ problem: "syntax" });
    expect(parseCidr("10.0.0.0/024")).toMatchObject({ problem: "syntax" });
  });

  it("knows membership and special-purpose blocks", () => {
    const p = prefixOf(parseIpv4("10.0.0.0") as number, 24);
    expect(contains(p, parseIpv4("10.0.0.255") as number)).toBe(true);
    expect(contains(p, parseIpv4("10.0.1.0") as number)).toBe(false);
    expect(reservedBlockOverlapping(prefixOf(parseIpv4("127.0.0.0") as number, 24))).toContain("loopback");
    expect(reservedBlockOverlapping(prefixOf(parseIpv4("224.0.0.0") as number, 24))).toContain("multicast");
    expect(reservedBlockOverlapping(prefixOf(0, 1))).toContain("0.0.0.0/8");
    expect(reservedBlockOverlapping(p)).toBeUndefined();
  });

  it("knows a prefix's network and broadcast addresses, and that /31 and /32 have none", () => {
    const p24 = cidrPrefix("10.0.0.0/24")!;
    expect(isNetworkOrBroadcast(p24, parseIpv4("10.0.0.0")!)).toBe(true);
    expect(isNetworkOrBroadcast(p24, parseIpv4("10.0.0.255")!)).toBe(true);
    expect(isNetworkOrBroadcast(p24, parseIpv4("10.0.0.7")!)).toBe(false);
    expect(isNetworkOrBroadcast(cidrPrefix("10.0.0.0/31")!, parseIpv4("10.0.0.0")!)).toBe(false);
    expect(cidrPrefix("10.0.0.5/24")).toBeUndefined();
  });
});
