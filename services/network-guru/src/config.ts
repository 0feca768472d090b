import { BaseConfig, ConfigError } from "@sdn/runtime";
import Type, { type Static } from "typebox";

const greKey = (fallback: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 4294967295, default: fallback, description });

export const GuruConfig = Type.Object({
  ...BaseConfig.properties,
  SDN_GRE_KEY_MIN: greKey(1, "Lowest GRE key handed to a network"),
  SDN_GRE_KEY_MAX: greKey(4294967295, "Highest GRE key handed to a network (the full 32-bit range by default)"),
});
export type GuruConfig = Static<typeof GuruConfig>;

export const checkGuruConfig = (c: GuruConfig): void => {
  if (c.SDN_GRE_KEY_MIN > c.SDN_GRE_KEY_MAX) {
    throw new ConfigError([
      { variable: "SDN_GRE_KEY_MIN", problem: `${c.SDN_GRE_KEY_MIN} is above SDN_GRE_KEY_MAX (${c.SDN_GRE_KEY_MAX})` },
    ]);
  }
};
