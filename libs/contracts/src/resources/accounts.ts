import Type, { type Static } from "@sdn/typebox";
import { QuotaOverrides } from "./quotas.js";

/** The account every admin token belongs to; admins act on behalf of the system. */
export const ADMIN_ACCOUNT_ID = "admin";

export const AccountName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
  description: "Human name of the tenant",
  examples: ["acme-prod"],
});

export const Account = Type.Object(
  {
    id: Type.String({ description: "Account id", examples: ["3b0c1d9e-7c1f-4f7e-9a51-0d7f4b1c2a10"] }),
    name: AccountName,
    createdAt: Type.String({ format: "date-time" }),
    /** Quotas an admin set for this account; the others are the gateway's defaults. */
    quotas: Type.Optional(QuotaOverrides),
  },
  { additionalProperties: false, $id: "Account" },
);
export type Account = Static<typeof Account>;

export const TokenName = Type.String({
  minLength: 1,
  maxLength: 64,
  description: "What the token is for",
  examples: ["ci"],
});

export const TokenInfo = Type.Object(
  {
    id: Type.String({ description: "Token id; use it to revoke the token" }),
    accountId: Type.String(),
    name: Type.Optional(TokenName),
    role: Type.Enum(["admin", "tenant"]),
    createdAt: Type.String({ format: "date-time" }),
    expiresAt: Type.Optional(
      Type.String({ format: "date-time", description: "When the token stops authenticating; absent: never" }),
    ),
  },
  { additionalProperties: false, $id: "TokenInfo" },
);
export type TokenInfo = Static<typeof TokenInfo>;

/** A token as returned once, at creation: the only time its secret is shown. */
export const IssuedToken = Type.Object(
  {
    ...TokenInfo.properties,
    token: Type.String({ description: "The bearer token. Shown only now; store it safely." }),
  },
  { additionalProperties: false, $id: "IssuedToken" },
);
export type IssuedToken = Static<typeof IssuedToken>;

export const CreateAccountBody = Type.Object({ name: AccountName }, { additionalProperties: false });
export const CreateTokenBody = Type.Object(
  {
    name: Type.Optional(TokenName),
    expiresInSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10 * 365 * 86_400,
        description:
          "Lifetime of the token; at most SDN_TOKEN_MAX_LIFETIME_SECONDS when the operator set it (then also the default)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const AccountWithToken = Type.Object(
  { account: Account, token: IssuedToken },
  { additionalProperties: false, $id: "AccountWithToken" },
);
