import { CreateNetwork, ListNetworks, UpdateNetwork } from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GuruHarness, tenant } from "./harness.js";

const bob = tenant("bob");
let h: GuruHarness;

beforeAll(async () => {
  h = await GuruHarness.start();
});

afterAll(async () => {
  await h?.stop();
});

/** The path of the first issue an error names, as schema errors and guru refusals both report it. */
const fieldOf = (details: unknown): string | undefined =>
  (details as { issues?: { path: string }[] } | undefined)?.issues?.[0]?.path;

describe("designing a network from bad input", () => {
  const cases: { what: string; body: Record<string, unknown>; code: string; field: string; says: string }[] = [
    { what: "not a CIDR", body: { cidr: "10.0.0.0" }, code: "INVALID_COMMAND", field: "/cidr", says: "pattern" },
    {
      what: "octet above 255",
      body: { cidr: "10.0.0.300/24" },
      code: "UNPROCESSABLE",
      field: "/cidr",
      says: "not an IPv4 CIDR",
    },
    {
      what: "prefix above /32",
      body: { cidr: "10.0.0.0/33" },
      code: "UNPROCESSABLE",
      field: "/cidr",
      says: "above /32",
    },
    {
      what: "host bits set",
      body: { cidr: "10.0.0.5/24" },
      code: "UNPROCESSABLE",
      field: "/cidr",
      says: "10.0.0.0/24",
    },
    { what: "a /31", body: { cidr: "10.0.0.0/31" }, code: "UNPROCESSABLE", field: "/cidr", says: "too small" },
    { what: "a /32", body: { cidr: "10.0.0.7/32" }, code: "UNPROCESSABLE", field: "/cidr", says: "too small" },
    { what: "a /7", body: { cidr: "10.0.0.0/7" }, code: "UNPROCESSABLE", field: "/cidr", says: "largest" },
    { what: "loopback", body: { cidr: "127.0.0.0/24" }, code: "UNPROCESSABLE", field: "/cidr", says: "loopback" },
    {
      what: "gateway outside",
      body: { cidr: "10.0.0.0/24", gateway: "10.0.1.1" },
      code: "UNPROCESSABLE",
      field: "/gateway",
      says: "outside 10.0.0.0/24",
    },
    {
      what: "gateway = network address",
      body: { cidr: "10.0.0.0/24", gateway: "10.0.0.0" },
      code: "UNPROCESSABLE",
      field: "/gateway",
      says: "network address",
    },
    {
      what: "gateway = broadcast",
      body: { cidr: "10.0.0.0/24", gateway: "10.0.0.255" },
      code: "UNPROCESSABLE",
      field: "/gateway",
      says: "broadcast address",
    },
    {
      what: "gateway not an address",
      body: { cidr: "10.0.0.0/24", gateway: "ten" },
      code: "INVALID_COMMAND",
      field: "/gateway",
      says: "ipv4",
    },
    {
      what: "DNS not an address",
      body: { cidr: "10.0.0.0/24", dns: ["1.2.3"] },
      code: "INVALID_COMMAND",
      field: "/dns/0",
      says: "ipv4",
    },
    {
      what: "DNS multicast",
      body: { cidr: "10.0.0.0/24", dns: ["8.8.8.8", "224.0.0.1"] },
      code: "UNPROCESSABLE",
      field: "/dns/1",
      says: "224.0.0.1",
    },
    {
      what: "MTU too small",
      body: { cidr: "10.0.0.0/24", mtu: 100 },
      code: "INVALID_COMMAND",
      field: "/mtu",
      says: "576",
    },
    {
      what: "unknown field",
      body: { cidr: "10.0.0.0/24", vlan: 5 },
      code: "INVALID_COMMAND",
      field: "/",
      says: "vlan",
    },
    {
      what: "an unknown encapsulation",
      body: { cidr: "10.0.0.0/24", encapsulation: "geneve" },
      code: "INVALID_COMMAND",
      field: "/encapsulation",
      says: "",
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.what}, naming ${c.field}, and writes nothing`, async () => {
      const err = await h.fail(CreateNetwork, { name: "bad", ...c.body } as never, bob);
      expect(err.code).toBe(c.code);
      expect(fieldOf(err.details)).toBe(c.field);
      expect(err.message).toContain(c.says);
      expect((await h.ok(ListNetworks, {}, bob)).networks).toEqual([]);
    });
  }

  it("accepts a /30 with an explicit gateway, and refuses bad updates without changing the network", async () => {
    const n = await h.ok(CreateNetwork, { name: "tiny", cidr: "192.168.7.4/30", gateway: "192.168.7.6" }, bob);
    expect(n.gateway).toBe("192.168.7.6");
    const err = await h.fail(UpdateNetwork, { networkId: n.id, dns: ["0.0.0.0"] }, bob);
    expect(err.code).toBe("UNPROCESSABLE");
    expect(fieldOf(err.details)).toBe("/dns/0");
    expect((await h.ok(ListNetworks, {}, bob)).networks).toEqual([n]);
  });
});
