import { describe, expect, it } from "vitest";
import { hostErrorFor, repairsFor, TENANT_HOST_ERROR, tunnelFor, withoutUnderlay } from "./tenant-view.js";

/* What the element's events and answers carry of the host side, by who reads them. */
describe("tenant view of the host side", () => {
  const row = {
    networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
    from: "host-a",
    to: "host-b",
    remoteIp: "10.0.0.12",
    key: 7,
    port: "gre-1",
    state: "Failed" as const,
    lastError: "ovs-vsctl: no route to 10.0.0.12 via eth1",
    attempts: 2,
    nextRetryAt: null,
    updatedAt: "2026-01-01T00:00:00.000Z",
  };

  it("gives a tenant a tunnel row without underlay address or host message, an admin the whole row", () => {
    expect(tunnelFor("admin", row)).toEqual(row);
    const seen = tunnelFor("tenant", row);
    expect("remoteIp" in seen).toBe(false);
    expect(seen).toMatchObject({ from: "host-a", to: "host-b", port: "gre-1", state: "Failed" });
    expect(seen.lastError).toBe(TENANT_HOST_ERROR);
    expect(tunnelFor("tenant", { ...row, lastError: null }).lastError).toBeNull();
  });

  it("strips events in a tenant's account (TunnelEstablished rows, TunnelFailed, DriftRepaired), not the admin's", () => {
    const data = { to: "host-b", remoteIp: "10.0.0.12", port: "gre-1" };
    expect(withoutUnderlay("acct-1", data)).toEqual({ to: "host-b", port: "gre-1" });
    expect(withoutUnderlay("admin", data)).toEqual(data);
    expect(hostErrorFor("acct-1", row.lastError)).toBe(TENANT_HOST_ERROR);
    expect(hostErrorFor("admin", row.lastError)).toBe(row.lastError);
    const repairs = [{ text: "tunnel to host-b (10.0.0.12) missing", tenantText: "tunnel to host-b missing" }];
    expect(repairsFor("acct-1", repairs)).toEqual(["tunnel to host-b missing"]);
    expect(repairsFor("admin", repairs)).toEqual(["tunnel to host-b (10.0.0.12) missing"]);
  });
});
