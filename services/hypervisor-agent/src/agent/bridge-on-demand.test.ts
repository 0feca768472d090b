import { describe, expect, it } from "vitest";
import type { HostDriver } from "../drivers/driver.js";
import { HostProgramError } from "../drivers/errors.js";
import { BridgeOnDemand, withoutEnsure } from "./bridge-on-demand.js";

/** A host with or without the network's bridge; counts set-ups and command runs. */
const host = (hasBridge: boolean) => {
  const seen = { setups: 0, runs: 0, bridge: hasBridge };
  const driver = {
    setupBridge: async () => {
      seen.setups++;
      await new Promise((r) => setTimeout(r, 5));
      const created = !seen.bridge;
      seen.bridge = true;
      return { bridge: "br0", created };
    },
  } as unknown as HostDriver;
  const work = async () => {
    seen.runs++;
    if (!seen.bridge) throw new HostProgramError("BRIDGE_NOT_FOUND", "no bridge for network n on this host");
    return { bridge: "br0", port: "vnet0" };
  };
  return { seen, bridges: new BridgeOnDemand(() => driver), work };
};

describe("BridgeOnDemand", () => {
  it("runs the command alone when the bridge is there, and says it created nothing", async () => {
    const h = host(true);
    expect(await h.bridges.run({ networkId: "n", ensureBridge: true }, h.work)).toEqual({
      bridge: "br0",
      port: "vnet0",
      bridgeCreated: false,
    });
    expect(h.seen).toMatchObject({ setups: 0, runs: 1 });
  });

  it("sets a missing bridge up once for concurrent commands and runs each again", async () => {
    const h = host(false);
    const out = await Promise.all([1, 2, 3].map(() => h.bridges.run({ networkId: "n", ensureBridge: true }, h.work)));
    expect(out.map((o) => o.bridgeCreated)).toEqual([true, true, true]);
    expect(h.seen).toMatchObject({ setups: 1, runs: 6 });
  });

  it("answers as before without ensureBridge: the missing bridge is the caller's NOT_FOUND", async () => {
    const h = host(false);
    await expect(h.bridges.run({ networkId: "n" }, h.work)).rejects.toMatchObject({ hostError: "BRIDGE_NOT_FOUND" });
    expect(h.seen.setups).toBe(0);
  });

  it("passes other failures on without setting anything up", async () => {
    const h = host(true);
    const refuse = async () => {
      throw new HostProgramError("DEVICE_NOT_FOUND", "no device vnet9");
    };
    await expect(h.bridges.run({ networkId: "n", ensureBridge: true }, refuse)).rejects.toMatchObject({
      hostError: "DEVICE_NOT_FOUND",
    });
    expect(h.seen.setups).toBe(0);
  });

  it("gives the drivers the request without ensureBridge", () => {
    expect(withoutEnsure({ networkId: "n", device: "vnet0", ensureBridge: true })).toEqual({
      networkId: "n",
      device: "vnet0",
    });
  });
});
