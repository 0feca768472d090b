import type { TunnelBfdReading } from "@sdn/ovsdb";
import { describe, expect, it } from "vitest";
import { TunnelHealthTracker } from "./tunnel-health.js";

const reading = (port: string, state?: string, extra: Record<string, string> = {}): TunnelBfdReading => ({
  port,
  networkId: "n1",
  remoteIp: "10.0.0.2",
  bfdEnabled: state !== undefined,
  bfdStatus: state === undefined ? {} : { state, forwarding: state === "up" ? "true" : "false", ...extra },
});

describe("TunnelHealthTracker", () => {
  it("reports every tunnel first, then only changes", () => {
    const t = new TunnelHealthTracker(5_000);
    expect(t.update([reading("a", "up"), reading("b")], 0).map((r) => [r.port, r.health])).toEqual([
      ["a", "up"],
      ["b", "unknown"],
    ]);
    expect(t.update([reading("a", "up"), reading("b")], 1_000)).toEqual([]);
    const down = t.update([reading("a", "down", { diagnostic: "Control Detection Time Expired" })], 2_000);
    expect(down).toEqual([
      {
        networkId: "n1",
        port: "a",
        remoteIp: "10.0.0.2",
        health: "down",
        diagnostic: "Control Detection Time Expired",
      },
    ]);
  });

  it("gives a session that never came up the grace period before calling it down", () => {
    const t = new TunnelHealthTracker(5_000);
    expect(t.update([reading("a", "down", { diagnostic: "No Diagnostic" })], 0)[0]).toMatchObject({
      health: "unknown",
      diagnostic: null,
    });
    expect(t.update([reading("a", "init")], 4_999)).toEqual([]);
    expect(t.update([reading("a", "down")], 5_000)[0]?.health).toBe("down");
    expect(t.update([reading("a", "up")], 6_000)[0]?.health).toBe("up");
  });

  it("forgets a removed tunnel and treats its return as new", () => {
    const t = new TunnelHealthTracker(5_000);
    t.update([reading("a", "up")], 0);
    t.update([], 1_000);
    expect(t.update([reading("a", "down")], 2_000)[0]?.health).toBe("unknown");
  });
});
