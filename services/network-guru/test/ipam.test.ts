import {
  AddExcludedRange,
  CreateNetwork,
  DeleteNetwork,
  ListNicAddresses,
  ReleaseNicAddress,
  RemoveExcludedRange,
  ReserveNicAddress,
} from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GuruHarness, tenant } from "./harness.js";

const carol = tenant("carol");
let h: GuruHarness;

beforeAll(async () => {
  h = await GuruHarness.start();
});

afterAll(async () => {
  await h?.stop();
});

const fieldOf = (details: unknown): string | undefined =>
  (details as { issues?: { path: string }[] } | undefined)?.issues?.[0]?.path;

describe("guest IPAM", () => {
  it("reserves a free address, answers a retry with the same one, and releases idempotently", async () => {
    const n = await h.ok(CreateNetwork, { name: "ipam", cidr: "10.2.0.0/24" }, carol);
    const a = await h.ok(ReserveNicAddress, { networkId: n.id, nicId: "nic-a" }, carol);
    expect(a).toMatchObject({
      networkId: n.id,
      accountId: "carol",
      nicId: "nic-a",
      prefixLength: 24,
      gateway: "10.2.0.1",
    });
    expect(["10.2.0.0", "10.2.0.1", "10.2.0.255"]).not.toContain(a.ip);
    expect(a.ip).toMatch(/^10\.2\.0\.\d+$/);
    expect(await h.ok(ReserveNicAddress, { networkId: n.id, nicId: "nic-a" }, carol)).toEqual(a);
    expect(await h.ok(ReserveNicAddress, { networkId: n.id, nicId: "nic-a", ip: a.ip }, carol)).toEqual(a);

    const b = await h.ok(ReserveNicAddress, { networkId: n.id, nicId: "nic-b", ip: "10.2.0.200" }, carol);
    expect(b.ip).toBe("10.2.0.200");
    expect((await h.ok(ListNicAddresses, { networkId: n.id }, carol)).addresses.map((x) => x.nicId).sort()).toEqual([
      "nic-a",
      "nic-b",
    ]);

    expect(await h.ok(ReleaseNicAddress, { networkId: n.id, nicId: "nic-a" }, carol)).toEqual({
      networkId: n.id,
      nicId: "nic-a",
      ip: a.ip,
    });
    expect((await h.ok(ReleaseNicAddress, { networkId: n.id, nicId: "nic-a" }, carol)).ip).toBeNull();
    await h.ok(ReleaseNicAddress, { networkId: n.id, nicId: "nic-b" }, carol);
    expect((await h.ok(ListNicAddresses, { networkId: n.id }, carol)).addresses).toEqual([]);
    await h.ok(DeleteNetwork, { networkId: n.id }, carol);
  });

  it("refuses requested addresses that are unusable or taken, naming the field ip", async () => {
    const n = await h.ok(CreateNetwork, { name: "req", cidr: "10.3.0.0/24", gateway: "10.3.0.254" }, carol);
    await h.ok(ReserveNicAddress, { networkId: n.id, nicId: "nic-1", ip: "10.3.0.5" }, carol);
    const refusals: [string, string, string][] = [
      ["10.4.0.5", "UNPROCESSABLE", "outside 10.3.0.0/24"],
      ["10.3.0.0", "UNPROCESSABLE", "network address"],
      ["10.3.0.255", "UNPROCESSABLE", "broadcast address"],
      ["10.3.0.254", "UNPROCESSABLE", "gateway"],
      ["10.3.0.5", "CONFLICT", "already reserved"],
    ];
    for (const [ip, code, says] of refusals) {
      const err = await h.fail(ReserveNicAddress, { networkId: n.id, nicId: "nic-2", ip }, carol);
      expect(err.code, ip).toBe(code);
      expect(err.message, ip).toContain(says);
      expect(fieldOf(err.details), ip).toBe("/ip");
    }
    const moved = await h.fail(ReserveNicAddress, { networkId: n.id, nicId: "nic-1", ip: "10.3.0.6" }, carol);
    expect(moved).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("already holds 10.3.0.5") });
    // nic-2 was refused each time: it holds nothing.
    expect((await h.ok(ReleaseNicAddress, { networkId: n.id, nicId: "nic-2" }, carol)).ip).toBeNull();
    expect((await h.ok(ListNicAddresses, { networkId: n.id }, carol)).addresses.map((a) => a.ip)).toEqual(["10.3.0.5"]);
  });

  it("never hands out network, broadcast, gateway or excluded addresses, and says when none is left", async () => {
    const n = await h.ok(CreateNetwork, { name: "small", cidr: "10.5.0.0/28" }, carol);
    const forbidden = await h.fail(AddExcludedRange, { networkId: n.id, start: "10.5.0.2", end: "10.5.0.5" }, carol);
    expect(forbidden.code).toBe("FORBIDDEN");
    const outside = await h.fail(AddExcludedRange, { networkId: n.id, start: "10.5.0.2", end: "10.5.1.5" }, ADMIN);
    expect(outside.code).toBe("UNPROCESSABLE");
    expect(fieldOf(outside.details)).toBe("/end");
    const backwards = await h.fail(AddExcludedRange, { networkId: n.id, start: "10.5.0.9", end: "10.5.0.5" }, ADMIN);
    expect(fieldOf(backwards.details)).toBe("/end");
    const excluded = await h.ok(AddExcludedRange, { networkId: n.id, start: "10.5.0.2", end: "10.5.0.5" }, ADMIN);
    expect(excluded.excludedRanges).toEqual([{ start: "10.5.0.2", end: "10.5.0.5" }]);
    expect(await h.ok(AddExcludedRange, { networkId: n.id, start: "10.5.0.2", end: "10.5.0.5" }, ADMIN)).toEqual(
      excluded,
    );

    const inRange = await h.fail(ReserveNicAddress, { networkId: n.id, nicId: "x", ip: "10.5.0.3" }, carol);
    expect(inRange).toMatchObject({ code: "UNPROCESSABLE", message: expect.stringContaining("excluded") });

    // 16 addresses: network, broadcast, gateway .1 and four excluded leave .6-.14, nine of them.
    const got = await Promise.all(
      Array.from({ length: 9 }, (_, i) => h.ok(ReserveNicAddress, { networkId: n.id, nicId: `n${i}` }, carol)),
    );
    expect(got.map((a) => Number(a.ip.split(".")[3])).sort((x, y) => x - y)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14]);
    const full = await h.fail(ReserveNicAddress, { networkId: n.id, nicId: "n9" }, carol);
    expect(full).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("no free address") });

    const busy = await h.fail(AddExcludedRange, { networkId: n.id, start: "10.5.0.12", end: "10.5.0.13" }, ADMIN);
    expect(busy).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("10.5.0.12 (") });
    await h.ok(RemoveExcludedRange, { networkId: n.id, start: "10.5.0.2", end: "10.5.0.5" }, ADMIN);
    const again = await h.ok(ReserveNicAddress, { networkId: n.id, nicId: "n9", ip: "10.5.0.3" }, carol);
    expect(again.ip).toBe("10.5.0.3");
  });
});
