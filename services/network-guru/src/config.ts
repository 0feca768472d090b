import { BaseConfig, ConfigError } from "@sdn/runtime";
import Type, { type Static } from "@sdn/typebox";

const greKey = (fallback: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 4294967295, default: fallback, description });
const vni = (fallback: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 16777215, default: fallback, description });

export const GuruConfig = Type.Object({
  ...BaseConfig.properties,
  SDN_GRE_KEY_MIN: greKey(1, "Lowest GRE key handed to a network"),
  SDN_GRE_KEY_MAX: greKey(4294967295, "Highest GRE key handed to a network (the full 32-bit range by default)"),
  SDN_VNI_MIN: vni(1, "Lowest VNI handed to a vxlan network"),
  SDN_VNI_MAX: vni(16777215, "Highest VNI handed to a vxlan network (the full 24-bit range by default)"),
});
export type GuruConfig = Static<typeof GuruConfig>;

export const checkGuruConfig = (c: GuruConfig): void => {
  const problems = (
    [
      ["SDN_GRE_KEY_MIN", "SDN_GRE_KEY_MAX"],
      ["SDN_VNI_MIN", "SDN_VNI_MAX"],
    ] as const
  )
    .filter(([min, max]) => c[min] > c[max])
    .map(([min, max]) => ({ variable: min, problem: `${c[min]} is above ${max} (${c[max]})` }));
  if (problems.length > 0) throw new ConfigError(problems);
};
