import { CommandError } from "@sdn/contracts";
import { describe, expect, it } from "vitest";
import { tunnelOf } from "./tunnel-spec.js";

const NET = "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5";

describe("tunnelOf", () => {
  it("reads a GRE set as it always was, and a VXLAN set by its VNI", () => {
    expect(tunnelOf({ networkId: NET, greKey: 7, remotes: [] })).toEqual({ type: "gre", key: 7 });
    expect(tunnelOf({ networkId: NET, encapsulation: "gre", greKey: 7, remotes: [] })).toEqual({ type: "gre", key: 7 });
    expect(tunnelOf({ networkId: NET, encapsulation: "vxlan", vni: 5001, remotes: [] })).toEqual({
      type: "vxlan",
      key: 5001,
    });
  });

  it("refuses a key that does not match the encapsulation, naming the field", () => {
    const refusal = (req: Parameters<typeof tunnelOf>[0]) => {
      try {
        tunnelOf(req);
      } catch (err) {
        expect(err).toBeInstanceOf(CommandError);
        return err as CommandError;
      }
      throw new Error("accepted");
    };
    // A VNI taken for a GRE key would join another network's GRE segment: never guessed.
    expect(refusal({ networkId: NET, vni: 5001, remotes: [] })).toMatchObject({
      code: "INVALID_COMMAND",
      message: "a gre tunnel set takes greKey, not vni",
    });
    expect(refusal({ networkId: NET, encapsulation: "vxlan", greKey: 7, remotes: [] })).toMatchObject({
      code: "INVALID_COMMAND",
      message: "a vxlan tunnel set takes vni, not greKey",
    });
    expect(refusal({ networkId: NET, encapsulation: "vxlan", vni: 1, greKey: 7, remotes: [] }).code).toBe(
      "INVALID_COMMAND",
    );
    expect(refusal({ networkId: NET, encapsulation: "vxlan", remotes: [] }).message).toBe(
      "a vxlan tunnel set takes vni",
    );
  });
});
