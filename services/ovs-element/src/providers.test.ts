import { describe, expect, it } from "vitest";
import { canHandle } from "./providers.js";

const gre = { id: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5", name: "web", encapsulation: "gre" as const };

describe("canHandle", () => {
  it("handles Connectivity itself and the L3 services by delegation to the VirtualRouter", () => {
    expect(canHandle(gre, "Connectivity")).toEqual({
      networkId: gre.id,
      provider: "Ovs",
      service: "Connectivity",
      canHandle: true,
    });
    for (const s of [
      "Gateway",
      "SourceNat",
      "StaticNat",
      "PortForwarding",
      "Firewall",
      "LoadBalancing",
      "Dhcp",
      "Dns",
      "UserData",
    ] as const) {
      expect(canHandle(gre, s)).toMatchObject({ canHandle: true, delegatedTo: "VirtualRouter" });
      expect(canHandle(gre, s, "VirtualRouter")).toMatchObject({ canHandle: true });
    }
  });

  it("handles vxlan networks as gre ones, both providers", () => {
    const vxlan = { ...gre, encapsulation: "vxlan" as const, broadcastUri: "vxlan://5001" };
    expect(canHandle(vxlan, "Connectivity")).toMatchObject({ canHandle: true });
    expect(canHandle(vxlan, "Dhcp", "VirtualRouter")).toMatchObject({ canHandle: true });
  });

  it("says why it cannot: broadcast domain, service not offered, another provider's service, undeclared", () => {
    const geneve = { ...gre, encapsulation: "geneve" } as unknown as typeof gre;
    expect(canHandle(geneve, "Connectivity").reason).toBe(
      "network web is on broadcast domain geneve, Ovs works on gre and vxlan only",
    );
    expect(canHandle({ ...gre, broadcastUri: "vlan://12" }, "Connectivity").reason).toBe(
      "network web is on broadcast domain vlan, Ovs works on gre and vxlan only",
    );
    expect(canHandle(gre, "Vpn")).toMatchObject({
      canHandle: false,
      reason: "service Vpn is not offered on network web",
    });
    expect(canHandle(gre, "Connectivity", "VirtualRouter").reason).toBe(
      "Connectivity on network web is provided by Ovs, not VirtualRouter",
    );
    // An offering that gives Vpn to the Ovs provider, which does not declare it.
    expect(canHandle(gre, "Vpn", "Ovs", { Vpn: "Ovs" }).reason).toBe("provider Ovs does not offer Vpn");
  });
});
