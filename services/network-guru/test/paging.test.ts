/**
 * Cursor paging of the guru's list commands on a real nats-server: pages are bounded,
 * complete and in order across cursors, tenancy still filters, entries deleted between
 * pages do not derail the cursor, and a cursor that is not one of the listing's is refused
 * naming the field.
 */
import {
  AcquirePublicIp,
  CreateNetwork,
  CreatePublicIpRange,
  DeleteNetwork,
  ListNetworks,
  ListNicAddresses,
  ListPublicIps,
  ReserveNicAddress,
  type Network,
} from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GuruHarness, tenant } from "./harness.js";

const pat = tenant("pat");
const quinn = tenant("quinn");
let h: GuruHarness;
const patNetworks: Network[] = [];

beforeAll(async () => {
  h = await GuruHarness.start();
  // Another tenant's networks interleave with pat's in key order: pages must skip them.
  for (let i = 0; i < 25; i++) {
    patNetworks.push(await h.ok(CreateNetwork, { name: `pat-${i}`, cidr: "10.70.0.0/24" }, pat));
    if (i % 3 === 0) await h.ok(CreateNetwork, { name: `quinn-${i}`, cidr: "10.71.0.0/24" }, quinn);
  }
});

afterAll(async () => {
  await h?.stop();
});

const ipValue = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const fieldOf = (details: unknown): string | undefined =>
  (details as { issues?: { path: string }[] } | undefined)?.issues?.[0]?.path;

describe("ListNetworks pages", () => {
  it("gives a tenant 25 networks with limit 10 as pages of 10, 10 and 5, ordered by id, the last without a cursor", async () => {
    const pages = await h.pages(ListNetworks, { limit: 10 }, pat);
    expect(pages.map((p) => p.networks.length)).toEqual([10, 10, 5]);
    expect(pages.map((p) => p.nextCursor === undefined)).toEqual([false, false, true]);
    const ids = pages.flatMap((p) => p.networks.map((n) => n.id));
    expect(new Set(ids).size).toBe(25);
    expect([...ids].sort()).toEqual(patNetworks.map((n) => n.id).sort());
    expect(ids).toEqual([...ids].sort());
    expect(pages.flatMap((p) => p.networks).every((n) => n.accountId === "pat")).toBe(true);
  });

  it("gives an admin one account's networks the same way, and every network across accounts", async () => {
    const onlyPat = await h.pages(ListNetworks, { accountId: "pat", limit: 10 }, ADMIN);
    expect(onlyPat.map((p) => p.networks.length)).toEqual([10, 10, 5]);
    const all = (await h.pages(ListNetworks, { limit: 7 }, ADMIN)).flatMap((p) => p.networks.map((n) => n.id));
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(25 + 9);
  });

  it("gives a tenant cursors that decode only to its own network ids, never another account's", async () => {
    // One network a page: each cursor sits just before the next of pat's networks, where
    // quinn's interleaved networks are: a cursor of the last key examined would name them.
    const pages = await h.pages(ListNetworks, { limit: 1 }, pat);
    const cursors = pages.flatMap((p) => (p.nextCursor === undefined ? [] : [p.nextCursor]));
    expect(cursors).toHaveLength(24);
    const own = new Set(patNetworks.map((n) => n.id));
    for (const cursor of cursors) {
      expect(own.has(Buffer.from(cursor, "base64url").toString("utf8")), cursor).toBe(true);
    }
  });

  it("answers everything on one page without limit or cursor (the default limit is 500)", async () => {
    const page = await h.ok(ListNetworks, {}, pat);
    expect(page.networks).toHaveLength(25);
    expect(page.nextCursor).toBeUndefined();
  });

  it("continues after the cursor's network even when it was deleted between pages", async () => {
    const carl = tenant("carl");
    const mine: string[] = [];
    for (let i = 0; i < 6; i++)
      mine.push((await h.ok(CreateNetwork, { name: `c-${i}`, cidr: "10.72.0.0/24" }, carl)).id);
    mine.sort();
    const first = await h.ok(ListNetworks, { limit: 3 }, carl);
    expect(first.networks.map((n) => n.id)).toEqual(mine.slice(0, 3));
    await h.ok(DeleteNetwork, { networkId: mine[2] as string }, carl);
    expect(first.nextCursor).toBeDefined();
    const second = await h.ok(ListNetworks, { limit: 3, cursor: first.nextCursor }, carl);
    expect(second.networks.map((n) => n.id)).toEqual(mine.slice(3));
    expect(second.nextCursor).toBeUndefined();
  });

  it("refuses a cursor that is not one of this listing's with VALIDATION_FAILED naming cursor", async () => {
    const notAKey = Buffer.from("not-a-network-id").toString("base64url");
    for (const cursor of [notAKey, "AAAA", Buffer.from("10.0.0.1").toString("base64url")]) {
      const err = await h.fail(ListNetworks, { cursor }, pat);
      expect(err.code).toBe("VALIDATION_FAILED");
      expect(fieldOf(err.details)).toBe("/cursor");
    }
    // Not base64url at all, or a limit outside 1..1000: the schema refuses it.
    for (const body of [{ cursor: "a b" }, { limit: 0 }, { limit: 1001 }, { limit: 2.5 }]) {
      expect((await h.fail(ListNetworks, body, pat)).code).toBe("INVALID_COMMAND");
    }
  });
});

describe("ListNicAddresses and ListPublicIps pages", () => {
  it("pages a network's addresses in address order", async () => {
    const net = patNetworks[0] as Network;
    for (const ip of ["10.70.0.200", "10.70.0.9", "10.70.0.30", "10.70.0.100", "10.70.0.11"]) {
      await h.ok(ReserveNicAddress, { networkId: net.id, nicId: `n-${ip.replaceAll(".", "-")}`, ip }, pat);
    }
    const pages = await h.pages(ListNicAddresses, { networkId: net.id, limit: 2 }, pat);
    expect(pages.map((p) => p.addresses.map((a) => a.ip))).toEqual([
      ["10.70.0.9", "10.70.0.11"],
      ["10.70.0.30", "10.70.0.100"],
      ["10.70.0.200"],
    ]);
    const err = await h.fail(ListNicAddresses, { networkId: net.id, cursor: pages[0]?.nextCursor ?? "" }, quinn);
    expect(err.code).toBe("NOT_FOUND");
    const otherNetwork = patNetworks[1] as Network;
    const foreign = await h.fail(
      ListNicAddresses,
      { networkId: otherNetwork.id, cursor: pages[0]?.nextCursor ?? "" },
      pat,
    );
    expect(fieldOf(foreign.details)).toBe("/cursor");
  });

  it("pages public IPs in address order, only the caller's, one source NAT per network", async () => {
    await h.ok(
      CreatePublicIpRange,
      { cidr: "198.51.100.0/24", gateway: "198.51.100.1", startIp: "198.51.100.2", endIp: "198.51.100.254" },
      ADMIN,
    );
    const [a, b] = patNetworks as [Network, Network];
    const theirs = await h.ok(CreateNetwork, { name: "quinn-edge", cidr: "10.73.0.0/24" }, quinn);
    for (let i = 0; i < 4; i++) {
      await h.ok(AcquirePublicIp, { networkId: a.id }, pat);
      await h.ok(AcquirePublicIp, { networkId: b.id }, pat);
      await h.ok(AcquirePublicIp, { networkId: theirs.id }, quinn);
    }
    const pages = await h.pages(ListPublicIps, { limit: 3 }, pat);
    expect(pages.map((p) => p.publicIps.length)).toEqual([3, 3, 2]);
    const ips = pages.flatMap((p) => p.publicIps);
    expect(ips.every((p) => p.accountId === "pat")).toBe(true);
    expect(ips.map((p) => ipValue(p.ip))).toEqual(ips.map((p) => ipValue(p.ip)).sort((x, y) => x - y));
    expect(
      ips
        .filter((p) => p.isSourceNat)
        .map((p) => p.networkId)
        .sort(),
    ).toEqual([a.id, b.id].sort());

    const ofA = (await h.pages(ListPublicIps, { networkId: a.id, limit: 3 }, pat)).flatMap((p) => p.publicIps);
    expect(ofA.map((p) => p.ip)).toEqual(ips.filter((p) => p.networkId === a.id).map((p) => p.ip));
    const wrongListing = await h.fail(ListPublicIps, { cursor: Buffer.from(a.id).toString("base64url") }, pat);
    expect(fieldOf(wrongListing.details)).toBe("/cursor");
  });
});
