import { describe, expect, it } from "vitest";
import { ovsMap, uuid, type Row } from "../datum.js";
import { driftedNetworks } from "./drift.js";

const owned = (net: string, extra: Row = {}): Row => ({
  name: "gre-1",
  external_ids: ovsMap({ "sdn-managed": "true", "sdn-network-id": net }),
  ...extra,
});

describe("driftedNetworks", () => {
  it("reports owned rows deleted or reconfigured, per network", () => {
    expect(
      driftedNetworks([
        { table: "Bridge", uuid: "b1", old: owned("n1") },
        { table: "Interface", uuid: "i1", old: owned("n2", { options: ovsMap({ key: "1" }) }), new: owned("n2") },
        { table: "Port", uuid: "p1", old: owned("n1") },
      ]),
    ).toEqual(["n1", "n2"]);
  });

  it("ignores inserts, untagged rows, vswitchd's status columns and reordered sets", () => {
    const before = owned("n1", { ofport: ["set", []], ports: ["set", [uuid("a"), uuid("b")]] });
    const after = owned("n1", { ofport: 3, ports: ["set", [uuid("b"), uuid("a")]] });
    expect(
      driftedNetworks([
        { table: "Bridge", uuid: "b1", new: owned("n1") },
        { table: "Bridge", uuid: "b2", old: { name: "br-phy", external_ids: ovsMap({}) } },
        { table: "Interface", uuid: "i1", old: before, new: after },
        { table: "Open_vSwitch", uuid: "o", old: owned("n3"), new: {} },
      ]),
    ).toEqual([]);
  });

  it("reports a row whose tags were taken away", () => {
    expect(driftedNetworks([{ table: "Port", uuid: "p", old: owned("n4"), new: { name: "gre-1" } }])).toEqual(["n4"]);
  });
});
