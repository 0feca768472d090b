import {
  AcquirePublicIp,
  CreateNetwork,
  CreatePublicIpRange,
  DeleteNetwork,
  DeletePublicIpRange,
  GetNetwork,
  ImplementNetwork,
  ListNetworks,
  ListNicAddresses,
  ListPublicIpRanges,
  ListPublicIps,
  ReleaseNicAddress,
  ReleasePublicIp,
  ReserveNicAddress,
  UpdateNetwork,
} from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GuruHarness, tenant } from "./harness.js";

const dave = tenant("dave");
const erin = tenant("erin");
let h: GuruHarness;

beforeAll(async () => {
  h = await GuruHarness.start();
});

afterAll(async () => {
  await h?.stop();
});

const fieldOf = (details: unknown): string | undefined =>
  (details as { issues?: { path: string }[] } | undefined)?.issues?.[0]?.path;

describe("tenancy", () => {
  it("shows and lets touch only the caller's own networks; others answer NOT_FOUND", async () => {
    const mine = await h.ok(CreateNetwork, { name: "dave-net", cidr: "10.6.0.0/24" }, dave);
    const theirs = await h.ok(CreateNetwork, { name: "erin-net", cidr: "10.6.0.0/24" }, erin);
    expect((await h.ok(ListNetworks, {}, dave)).networks.map((n) => n.id)).toEqual([mine.id]);
    const all = (await h.ok(ListNetworks, {}, ADMIN)).networks.map((n) => n.id);
    expect(all).toEqual(expect.arrayContaining([mine.id, theirs.id]));
    expect((await h.ok(ListNetworks, { accountId: "erin" }, ADMIN)).networks.map((n) => n.id)).toEqual([theirs.id]);

    const probes = [
      h.fail(GetNetwork, { networkId: theirs.id }, dave),
      h.fail(UpdateNetwork, { networkId: theirs.id, name: "pwned" }, dave),
      h.fail(ImplementNetwork, { networkId: theirs.id }, dave),
      h.fail(DeleteNetwork, { networkId: theirs.id }, dave),
      h.fail(ReserveNicAddress, { networkId: theirs.id, nicId: "evil" }, dave),
      h.fail(ReleaseNicAddress, { networkId: theirs.id, nicId: "evil" }, dave),
      h.fail(ListNicAddresses, { networkId: theirs.id }, dave),
      h.fail(AcquirePublicIp, { networkId: theirs.id }, dave),
      h.fail(ListPublicIps, { networkId: theirs.id }, dave),
    ];
    for (const err of await Promise.all(probes)) {
      expect(err).toEqual({ code: "NOT_FOUND", message: `network ${theirs.id} not found` });
    }
    expect((await h.ok(GetNetwork, { networkId: theirs.id }, erin)).name).toBe("erin-net");

    const forOther = await h.fail(CreateNetwork, { name: "x", cidr: "10.7.0.0/24", accountId: "erin" }, dave);
    expect(forOther.code).toBe("FORBIDDEN");
    const byAdmin = await h.ok(CreateNetwork, { name: "for-erin", cidr: "10.7.0.0/24", accountId: "erin" }, ADMIN);
    expect(byAdmin.accountId).toBe("erin");
    const anonymous = await h.fail(CreateNetwork, { name: "x", cidr: "10.7.0.0/24" }, { role: "tenant" });
    expect(anonymous.code).toBe("UNAUTHORIZED");
  });

  it("keeps public IP ranges to admins", async () => {
    const body = { cidr: "198.51.100.0/24", gateway: "198.51.100.1", startIp: "198.51.100.10", endIp: "198.51.100.20" };
    expect((await h.fail(CreatePublicIpRange, body, dave)).code).toBe("FORBIDDEN");
    expect((await h.fail(ListPublicIpRanges, {}, dave)).code).toBe("FORBIDDEN");
    expect((await h.fail(DeletePublicIpRange, { rangeId: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d" }, dave)).code).toBe(
      "FORBIDDEN",
    );
  });
});

describe("public IPAM", () => {
  it("validates ranges and refuses overlaps", async () => {
    const base = { cidr: "203.0.113.0/24", gateway: "203.0.113.1", startIp: "203.0.113.10", endIp: "203.0.113.12" };
    const bad: [Record<string, string>, string][] = [
      [{ gateway: "203.0.113.11" }, "/gateway"],
      [{ startIp: "203.0.114.10" }, "/startIp"],
      [{ endIp: "203.0.113.255" }, "/endIp"],
      [{ startIp: "203.0.113.50" }, "/endIp"],
      [{ cidr: "203.0.113.0/31" }, "/cidr"],
    ];
    for (const [change, field] of bad) {
      const err = await h.fail(CreatePublicIpRange, { ...base, ...change }, ADMIN);
      expect(err.code, field).toBe("UNPROCESSABLE");
      expect(fieldOf(err.details), field).toBe(field);
    }
    const range = await h.ok(CreatePublicIpRange, { ...base, name: "edge" }, ADMIN);
    expect(range).toMatchObject({ name: "edge", size: 3, startIp: "203.0.113.10", endIp: "203.0.113.12" });
    const overlap = await h.fail(
      CreatePublicIpRange,
      { ...base, startIp: "203.0.113.12", endIp: "203.0.113.30" },
      ADMIN,
    );
    expect(overlap).toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("overlaps public IP range edge"),
    });
    expect((await h.ok(ListPublicIpRanges, {}, ADMIN)).ranges).toEqual([range]);
  });

  it("makes a network's first public IP its source NAT, releases it last, and blocks deletes while held", async () => {
    const [range] = (await h.ok(ListPublicIpRanges, {}, ADMIN)).ranges;
    const net = await h.ok(CreateNetwork, { name: "edge-net", cidr: "10.8.0.0/24" }, dave);
    const first = await h.ok(AcquirePublicIp, { networkId: net.id }, dave);
    const second = await h.ok(AcquirePublicIp, { networkId: net.id }, dave);
    expect(first).toMatchObject({ isSourceNat: true, networkId: net.id, accountId: "dave", rangeId: range?.id });
    expect(second.isSourceNat).toBe(false);
    expect(second.ip).not.toBe(first.ip);

    const other = await h.ok(CreateNetwork, { name: "erin-edge", cidr: "10.8.0.0/24" }, erin);
    const third = await h.ok(AcquirePublicIp, { networkId: other.id }, erin);
    expect(third.isSourceNat).toBe(true);
    const exhausted = await h.fail(AcquirePublicIp, { networkId: other.id }, erin);
    expect(exhausted).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("exhausted") });

    expect((await h.ok(ListPublicIps, {}, dave)).publicIps.map((p) => p.id)).toEqual(
      [first, second].sort((a, b) => a.ip.localeCompare(b.ip)).map((p) => p.id),
    );
    expect((await h.fail(ReleasePublicIp, { publicIpId: third.id }, dave)).code).toBe("NOT_FOUND");

    const snatFirst = await h.fail(ReleasePublicIp, { publicIpId: first.id }, dave);
    expect(snatFirst).toMatchObject({ code: "CONFLICT", message: expect.stringContaining(second.ip) });
    const netHeld = await h.fail(DeleteNetwork, { networkId: net.id }, dave);
    expect(netHeld.code).toBe("CONFLICT");
    expect(netHeld.message).toContain(`${first.id} ${first.ip}`);
    const rangeHeld = await h.fail(DeletePublicIpRange, { rangeId: range?.id as string }, ADMIN);
    expect(rangeHeld).toMatchObject({ code: "CONFLICT", message: expect.stringContaining(third.ip) });
    expect((await h.ok(ListPublicIpRanges, {}, ADMIN)).ranges).toHaveLength(1);

    await h.ok(ReleasePublicIp, { publicIpId: second.id }, dave);
    expect(await h.ok(ReleasePublicIp, { publicIpId: first.id }, dave)).toMatchObject({
      ip: first.ip,
      isSourceNat: true,
    });
    expect((await h.fail(ReleasePublicIp, { publicIpId: first.id }, dave)).code).toBe("NOT_FOUND");
    const again = await h.ok(AcquirePublicIp, { networkId: net.id }, dave);
    expect(again.isSourceNat).toBe(true);
    await h.ok(ReleasePublicIp, { publicIpId: again.id }, dave);
    await h.ok(ReleasePublicIp, { publicIpId: third.id }, erin);
    await h.ok(DeleteNetwork, { networkId: net.id }, dave);
    expect((await h.ok(DeletePublicIpRange, { rangeId: range?.id as string }, ADMIN)).id).toBe(range?.id);
    const none = await h.fail(AcquirePublicIp, { networkId: other.id }, erin);
    expect(none).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("no public IP range") });
  });
});
