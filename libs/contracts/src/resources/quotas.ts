import Type, { type Static } from "@sdn/typebox";

/** What an account may hold at most; each limit is named in the error that enforces it. */
export const QUOTA_NAMES = ["networks", "nics", "publicIps", "tokens", "rules"] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

const limit = (description: string) => Type.Integer({ minimum: 0, maximum: 1_000_000, description });

const quotaFields = {
  networks: limit("Networks the account may have"),
  nics: limit("NICs the account may have plugged, across its networks"),
  publicIps: limit("Public IPs the account may hold"),
  tokens: limit("API tokens the account may have"),
  rules: limit(
    "L3 rules the account may have over all its networks: port forwards, static NATs, firewall and egress rules, " +
      "load balancers",
  ),
};

/** An account's effective quotas: its own values where an admin set them, the defaults elsewhere. */
export const Quotas = Type.Object(quotaFields, { additionalProperties: false, $id: "Quotas" });
export type Quotas = Static<typeof Quotas>;

/** What an admin sets: any subset; a field left out keeps its current value. */
export const QuotaOverrides = Type.Object(
  {
    networks: Type.Optional(quotaFields.networks),
    nics: Type.Optional(quotaFields.nics),
    publicIps: Type.Optional(quotaFields.publicIps),
    tokens: Type.Optional(quotaFields.tokens),
    rules: Type.Optional(quotaFields.rules),
  },
  { additionalProperties: false, $id: "QuotaOverrides" },
);
export type QuotaOverrides = Static<typeof QuotaOverrides>;
