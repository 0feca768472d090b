import Type, { type Static } from "@sdn/typebox";

/**
 * Bus credentials of an external system: a NATS user bound to one account (or admin bus
 * credentials, for the admin account). See docs/bus-security.md.
 */
export const BusCredentialInfo = Type.Object(
  {
    id: Type.String({ description: "Credential id; use it to revoke", examples: ["bc-5f2a9c1e7b3d4a60"] }),
    accountId: Type.String({ description: "The account everything published with it acts as" }),
    role: Type.Enum(["admin", "tenant"]),
    publicKey: Type.String({ description: "The NATS user's public nkey (U...)" }),
    inboxPrefix: Type.String({ description: "Set it as the client's inboxPrefix: replies arrive only there" }),
    createdAt: Type.String({ format: "date-time" }),
    revokedAt: Type.Optional(Type.String({ format: "date-time" })),
  },
  { additionalProperties: false, $id: "BusCredentialInfo" },
);
export type BusCredentialInfo = Static<typeof BusCredentialInfo>;

/** As returned once, at creation: the only time the `.creds` text (with its seed) is shown. */
export const IssuedBusCredential = Type.Object(
  {
    ...BusCredentialInfo.properties,
    creds: Type.String({ description: "The NATS .creds file (user JWT and seed). Shown only now; store it safely." }),
  },
  { additionalProperties: false, $id: "IssuedBusCredential" },
);
export type IssuedBusCredential = Static<typeof IssuedBusCredential>;
