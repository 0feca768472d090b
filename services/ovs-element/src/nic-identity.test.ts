import { describe, expect, it } from "vitest";
import { generateMac, guestMtu, nicIdFor } from "./nic-identity.js";

describe("NIC identity", () => {
  it("derives the NIC id and MAC from the command, so a redelivery finds the same NIC", () => {
    expect(nicIdFor("cmd-1")).toBe(nicIdFor("cmd-1"));
    expect(nicIdFor("cmd-1")).not.toBe(nicIdFor("cmd-2"));
    expect(nicIdFor("cmd-1")).toMatch(/^nic-[0-9a-f]{20}$/);
    expect(generateMac("nic-a", 0)).toBe(generateMac("nic-a", 0));
    expect(generateMac("nic-a", 1)).not.toBe(generateMac("nic-a", 0));
    for (let i = 0; i < 200; i++) {
      // Unicast (bit 0 clear) and locally administered (bit 1 set).
      const first = parseInt(generateMac(`nic-${i}`, 0).slice(0, 2), 16);
      expect(first & 0b11).toBe(0b10);
    }
  });

  it("takes 42 bytes of GRE overhead off the underlay MTU", () => {
    expect(guestMtu(1450, 1500, "gre")).toBe(1450);
    expect(guestMtu(1500, 1500, "gre")).toBe(1458);
    expect(guestMtu(9000, 9000, "gre")).toBe(8958);
  });

  it("takes 50 bytes of VXLAN overhead off the underlay MTU", () => {
    expect(guestMtu(1450, 1500, "vxlan")).toBe(1450);
    expect(guestMtu(1500, 1500, "vxlan")).toBe(1450);
    expect(guestMtu(9000, 9000, "vxlan")).toBe(8950);
  });
});
