import Type from "@sdn/typebox";

/** The ids of the vr-manager's resources. */

export const RouterId = Type.String({
  pattern: "^vr-[0-9a-f]{16}$",
  description: "Virtual router id",
  examples: ["vr-3f0c1d2e4b5a4c6d"],
});

export const RuleId = Type.String({
  pattern: "^[a-z]{2,4}-[0-9a-f]{16}$",
  description: "L3 rule id; its prefix names the kind (pf, snat, fw, eg, lb, inr)",
  examples: ["pf-8e9fa0b1c2d3e4f5"],
});
