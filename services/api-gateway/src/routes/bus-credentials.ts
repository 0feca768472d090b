import { ClaimsUpdateError } from "@sdn/bus-auth";
import { ADMIN_ACCOUNT_ID, BusCredentialInfo, IssuedBusCredential, isSubjectToken } from "@sdn/contracts";
import Type from "@sdn/typebox";
import type { GatewayApp } from "../app.js";
import type { BusCredentialStore } from "../bus-credentials/credential-store.js";
import { HttpError } from "../http-errors.js";
import { errorResponses } from "../schemas.js";

const AccountParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9-]+$" }) },
  { additionalProperties: false },
);
const CredentialParams = Type.Object(
  { ...AccountParams.properties, credentialId: Type.String({ pattern: "^bc-[0-9a-f]{16}$" }) },
  { additionalProperties: false },
);

export interface BusCredentialRouteOptions {
  /** Undefined when the gateway has no issuing keys (SDN_BUS_ISSUER_FILE unset). */
  store: BusCredentialStore | undefined;
}

/**
 * Bus credentials for external systems (admin): a NATS user bound to one account, or
 * admin bus credentials for the `admin` account. The `.creds` text is shown once.
 */
export const busCredentialRoutes = async (app: GatewayApp, opts: BusCredentialRouteOptions): Promise<void> => {
  const storeFor = async (accountId: string): Promise<BusCredentialStore> => {
    if (opts.store === undefined) {
      throw new HttpError(
        "UNAVAILABLE",
        "this gateway cannot issue bus credentials: set SDN_BUS_ISSUER_FILE (docs/bus-security.md)",
      );
    }
    // Ids that cannot stand in a subject (or look like the system scope) never get credentials.
    const known = accountId === ADMIN_ACCOUNT_ID || (await app.accounts.get(accountId)) !== undefined;
    if (!known || !isSubjectToken(accountId) || accountId.startsWith("_")) {
      throw new HttpError("NOT_FOUND", `account ${accountId} not found`);
    }
    return opts.store;
  };

  app.post(
    "/v1/accounts/:id/bus-credentials",
    {
      config: {
        adminOnly: true,
        audit: {
          command: "CreateBusCredentials",
          params: { id: "accountId" },
          answer: { id: "credentialId", publicKey: "publicKey" },
        },
      },
      schema: {
        tags: ["Accounts"],
        summary: "Issue NATS bus credentials bound to the account (admin; `admin` gives admin bus credentials)",
        operationId: "createBusCredentials",
        description:
          "Returns a NATS .creds file once. Whatever the holder publishes acts as this account; it reads only " +
          "this account's answers and events. Set `inboxPrefix` on the client as returned.",
        params: AccountParams,
        response: { 201: IssuedBusCredential, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (req, reply) => reply.status(201).send(await (await storeFor(req.params.id)).create(req.params.id)),
  );

  app.get(
    "/v1/accounts/:id/bus-credentials",
    {
      config: { adminOnly: true },
      schema: {
        tags: ["Accounts"],
        summary: "List the account's bus credentials, revoked ones included (never their seeds)",
        operationId: "listBusCredentials",
        params: AccountParams,
        response: {
          200: Type.Object({ items: Type.Array(BusCredentialInfo) }),
          ...errorResponses(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (req) => ({ items: await (await storeFor(req.params.id)).list(req.params.id) }),
  );

  app.delete(
    "/v1/accounts/:id/bus-credentials/:credentialId",
    {
      config: {
        adminOnly: true,
        audit: { command: "RevokeBusCredentials", params: { id: "accountId", credentialId: "credentialId" } },
      },
      schema: {
        tags: ["Accounts"],
        summary: "Revoke bus credentials: the NATS server refuses them and cuts their connections",
        operationId: "revokeBusCredentials",
        params: CredentialParams,
        response: { 204: { type: "null", description: "Revoked" }, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (req, reply) => {
      const store = await storeFor(req.params.id);
      try {
        if (!(await store.revoke(req.params.id, req.params.credentialId))) {
          throw new HttpError("NOT_FOUND", `bus credential ${req.params.credentialId} not found or already revoked`);
        }
      } catch (err) {
        if (err instanceof ClaimsUpdateError) throw new HttpError("UNAVAILABLE", err.message);
        throw err;
      }
      return reply.status(204).send(null);
    },
  );
};
