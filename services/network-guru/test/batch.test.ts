import {
  AddExcludedRange,
  DeleteNetwork,
  ListNicAddresses,
  ReleaseNicAddress,
  ReserveNicAddress,
  ReserveNicAddresses,
  type EventEnvelope,
  eventFilter,
  type ResponseOf,
} from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GuruHarness, tenant } from "./harness.js";

const gina = tenant("gina");
let h: GuruHarness;
const events: EventEnvelope<Record<string, unknown>>[] = [];

beforeAll(async () => {
  h = await GuruHarness.start(2);
  h.nc.subscribe(eventFilter({ service: "network-guru" }), {
    callback: (_e, m) => void events.push(m.json<EventEnvelope<Record<string, unknown>>>()),
  });
});

afterAll(async () => {
  await h?.stop();
});

const nicsOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ nicId: `${prefix}-${i}` }));
const ipsOf = (r: ResponseOf<typeof ReserveNicAddresses>) => r.nics.flatMap((n) => (n.address ? [n.address.ip] : []));
const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);

describe("ReserveNicAddresses", () => {
  it("races batches through two replicas without an address twice, and a retried batch answers the same", async () => {
    const net = await h.network("racing", "10.40.0.0/22", gina);
    const batches = Array.from({ length: 8 }, (_, b) => nicsOf(`b${b}`, 100));
    const answers = await Promise.all(
      batches.map((nics) => h.ok(ReserveNicAddresses, { networkId: net.id, nics }, gina)),
    );
    const ips = answers.flatMap(ipsOf);
    expect(answers.flatMap((a) => a.nics.filter((n) => n.error !== undefined))).toEqual([]);
    expect(ips).toHaveLength(800);
    expect(new Set(ips).size).toBe(800);
    expect(answers[0]?.nics.map((n) => n.nicId)).toEqual(batches[0]?.map((n) => n.nicId));
    // Retried (the same NICs, some now with the address they hold): the same addresses, nothing new.
    const again = await Promise.all(
      batches.slice(0, 3).map((nics) => h.ok(ReserveNicAddresses, { networkId: net.id, nics }, gina)),
    );
    expect(again.map(ipsOf)).toEqual(answers.slice(0, 3).map(ipsOf));
    const single = await h.ok(ReserveNicAddress, { networkId: net.id, nicId: "b0-0" }, gina);
    expect(single.ip).toBe(ipsOf(answers[0] as ResponseOf<typeof ReserveNicAddresses>)[0]);
    const listed = (await h.pages(ListNicAddresses, { networkId: net.id }, gina)).flatMap((p) => p.addresses);
    expect(listed).toHaveLength(800);
    // One event per batch command, naming the addresses it reserved (the retries reserved none).
    const mine = () => events.filter((e) => e.data["networkId"] === net.id);
    await expect.poll(() => mine().length).toBe(8);
    expect(mine().map((e) => e.type)).toEqual(Array.from({ length: 8 }, () => "NicAddressesReserved"));
    const announced = mine().flatMap((e) => (e.data["addresses"] as { ip: string }[]).map((a) => a.ip));
    expect(announced.sort()).toEqual([...ips].sort());
  }, 120_000);

  it("refuses only the items that cannot be had: taken, excluded, outside the CIDR, held elsewhere", async () => {
    const net = await h.network("partial", "10.41.0.0/24", gina);
    await h.ok(ReserveNicAddress, { networkId: net.id, nicId: "owner", ip: "10.41.0.10" }, gina);
    await h.ok(AddExcludedRange, { networkId: net.id, start: "10.41.0.100", end: "10.41.0.199" }, ADMIN);
    const r = await h.ok(
      ReserveNicAddresses,
      {
        networkId: net.id,
        nics: [
          { nicId: "a" },
          { nicId: "taken", ip: "10.41.0.10" },
          { nicId: "excluded", ip: "10.41.0.150" },
          { nicId: "outside", ip: "10.42.0.5" },
          { nicId: "owner", ip: "10.41.0.11" },
          { nicId: "b", ip: "10.41.0.20" },
          { nicId: "c" },
        ],
      },
      gina,
    );
    const by = new Map(r.nics.map((n) => [n.nicId, n]));
    expect(by.get("taken")?.error?.code).toBe("CONFLICT");
    expect(by.get("excluded")?.error?.code).toBe("UNPROCESSABLE");
    expect(by.get("outside")?.error?.code).toBe("UNPROCESSABLE");
    expect(by.get("owner")?.error?.code).toBe("CONFLICT");
    expect(by.get("b")?.address?.ip).toBe("10.41.0.20");
    for (const id of ["a", "c"]) {
      const ip = toInt(by.get(id)?.address?.ip ?? "0.0.0.0");
      expect(ip >= toInt("10.41.0.2") && ip <= toInt("10.41.0.254")).toBe(true);
      expect(ip >= toInt("10.41.0.100") && ip <= toInt("10.41.0.199")).toBe(false);
    }
    const repeated = await h.fail(
      ReserveNicAddresses,
      { networkId: net.id, nics: [{ nicId: "x" }, { nicId: "x" }] },
      gina,
    );
    expect(repeated.code).toBe("VALIDATION_FAILED");
  }, 60_000);

  it("fills a block and goes on to the next; a full network refuses the rest with CONFLICT", async () => {
    const wide = await h.network("two-blocks", "10.43.0.0/23", gina);
    const first = await h.ok(ReserveNicAddresses, { networkId: wide.id, nics: nicsOf("w", 256) }, gina);
    const second = await h.ok(ReserveNicAddresses, { networkId: wide.id, nics: nicsOf("v", 253) }, gina);
    const all = [...ipsOf(first), ...ipsOf(second)];
    expect(all).toHaveLength(509);
    expect(new Set(all).size).toBe(509);
    expect(new Set(all.map((ip) => ip.split(".")[2]))).toEqual(new Set(["0", "1"]));
    const more = await h.ok(ReserveNicAddresses, { networkId: wide.id, nics: nicsOf("u", 3) }, gina);
    expect(more.nics.map((n) => n.error?.code)).toEqual(["CONFLICT", "CONFLICT", "CONFLICT"]);
    expect(more.nics[0]?.error?.message).toMatch(/no free address/);

    const small = await h.network("tiny", "10.44.0.0/28", gina);
    const r = await h.ok(ReserveNicAddresses, { networkId: small.id, nics: nicsOf("t", 16) }, gina);
    expect(ipsOf(r)).toHaveLength(13);
    expect(r.nics.filter((n) => n.error?.code === "CONFLICT")).toHaveLength(3);
  }, 60_000);

  it("lets an exclusion and a delete written meanwhile win over a batch", async () => {
    for (let round = 0; round < 4; round++) {
      const net = await h.network(`excl-${round}`, "10.45.0.0/24", gina);
      const [batch, excluded] = await Promise.all([
        h.send(ReserveNicAddresses, { networkId: net.id, nics: nicsOf(`e${round}`, 200) }, gina),
        h.send(AddExcludedRange, { networkId: net.id, start: "10.45.0.2", end: "10.45.0.254" }, ADMIN),
      ]);
      const listed = (await h.ok(ListNicAddresses, { networkId: net.id }, gina)).addresses;
      if (excluded.ok) expect(listed).toEqual([]);
      else expect(excluded.error.code).toBe("CONFLICT");
      if (batch.ok) expect(listed.map((a) => a.ip).sort()).toEqual(ipsOf(batch.data).sort());

      const doomed = await h.network(`doomed-${round}`, "10.46.0.0/24", gina);
      const [reserved, deleted] = await Promise.all([
        h.send(ReserveNicAddresses, { networkId: doomed.id, nics: nicsOf(`d${round}`, 100) }, gina),
        h.send(DeleteNetwork, { networkId: doomed.id }, gina),
      ]);
      if (deleted.ok) {
        // Deleted: the batch was refused or granted nothing that survives.
        if (reserved.ok) expect(ipsOf(reserved.data)).toEqual([]);
        expect((await h.fail(ListNicAddresses, { networkId: doomed.id }, gina)).code).toBe("NOT_FOUND");
      } else {
        expect(deleted.error.code).toBe("CONFLICT");
        if (reserved.ok) {
          for (const n of reserved.data.nics)
            await h.ok(ReleaseNicAddress, { networkId: doomed.id, nicId: n.nicId }, gina);
        }
        expect((await h.ok(DeleteNetwork, { networkId: doomed.id }, gina)).id).toBe(doomed.id);
      }
    }
  }, 120_000);
});
