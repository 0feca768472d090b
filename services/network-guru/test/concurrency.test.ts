import {
  AddExcludedRange,
  CreateNetwork,
  DeleteNetwork,
  ImplementNetwork,
  ListNicAddresses,
  ReleaseNicAddress,
  ReserveNicAddress,
} from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GuruHarness, tenant } from "./harness.js";

const frank = tenant("frank");
let h: GuruHarness;

beforeAll(async () => {
  h = await GuruHarness.start(2);
});

afterAll(async () => {
  await h?.stop();
});

const RESERVATIONS = 2_000;

describe("two guru replicas under concurrent reservations", () => {
  it(`gives ${RESERVATIONS} NICs fired at once distinct, usable addresses on one /20, and releases them all`, async () => {
    const net = await h.ok(CreateNetwork, { name: "busy", cidr: "172.16.16.0/20", gateway: "172.16.16.1" }, frank);
    await h.ok(ImplementNetwork, { networkId: net.id }, frank);
    await h.ok(AddExcludedRange, { networkId: net.id, start: "172.16.20.0", end: "172.16.23.255" }, ADMIN);
    const forbidden = new Set(["172.16.16.0", "172.16.31.255", "172.16.16.1"]);
    const excluded = (ip: string) => {
      const [, , third] = ip.split(".").map(Number);
      return (third as number) >= 20 && (third as number) <= 23;
    };

    const answers = await Promise.all(
      Array.from({ length: RESERVATIONS }, (_, i) =>
        h.send(ReserveNicAddress, { networkId: net.id, nicId: `nic-${i}` }, frank),
      ),
    );
    const failed = answers.filter((a) => !a.ok);
    expect(failed).toEqual([]);
    const ips = answers.map((a) => (a.ok ? a.data.ip : ""));
    expect(new Set(ips).size).toBe(RESERVATIONS);
    expect(ips.filter((ip) => forbidden.has(ip) || excluded(ip) || !ip.startsWith("172.16."))).toEqual([]);

    const pages = await h.pages(ListNicAddresses, { networkId: net.id }, frank);
    const listed = pages.flatMap((p) => p.addresses);
    expect(pages.length).toBeGreaterThan(1);
    expect(listed).toHaveLength(RESERVATIONS);
    const order = listed.map((a) => a.ip.split(".").reduce((n, o) => n * 256 + Number(o), 0));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const byNic = new Map(listed.map((a) => [a.nicId, a.ip]));
    answers.forEach((a, i) => a.ok && expect(byNic.get(`nic-${i}`)).toBe(a.data.ip));

    const released = await Promise.all(
      Array.from({ length: RESERVATIONS }, (_, i) =>
        h.ok(ReleaseNicAddress, { networkId: net.id, nicId: `nic-${i}` }, frank),
      ),
    );
    expect(released.map((r) => r.ip)).toEqual(ips);
    expect((await h.ok(ListNicAddresses, { networkId: net.id }, frank)).addresses).toEqual([]);
    // Nothing left behind in the NIC index either: the network can be deleted.
    expect((await h.ok(DeleteNetwork, { networkId: net.id }, frank)).id).toBe(net.id);
  }, 120_000);
});
