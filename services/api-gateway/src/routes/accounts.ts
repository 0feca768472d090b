import {
  ADMIN_ACCOUNT_ID,
  Account,
  AccountWithToken,
  CreateAccountBody,
  CreateTokenBody,
  IssuedToken,
  TokenInfo,
} from "@sdn/contracts";
import type { FastifyRequest } from "fastify";
import Type from "@sdn/typebox";
import type { GatewayApp } from "../app.js";
import { noteAudited } from "../audit/audited-routes.js";
import { principalOf } from "../auth/authenticate.js";
import { HttpError } from "../http-errors.js";
import { tokenExpiry } from "../auth/token-lifetime.js";
import { issueWithinCap } from "../limits/token-cap.js";
import { errorResponses } from "../schemas.js";

export const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9-]+$" }) },
  { additionalProperties: false },
);

/** A tenant may act on its own account only; anything else is "not found". */
export const ownAccount = async (app: GatewayApp, req: FastifyRequest, id: string): Promise<Account> => {
  const principal = principalOf(req);
  const account = await app.accounts.get(id);
  if (account === undefined || (principal.role !== "admin" && principal.accountId !== id)) {
    throw new HttpError("NOT_FOUND", `account ${id} not found`);
  }
  return account;
};

/** Accounts (tenants) and their tokens. Identity is the gateway's own state. */
export const accountRoutes = async (app: GatewayApp): Promise<void> => {
  app.post(
    "/v1/accounts",
    {
      config: {
        adminOnly: true,
        audit: { command: "CreateAccount", answer: { "account.id": "accountId", "token.id": "tokenId" } },
      },
      schema: {
        tags: ["Accounts"],
        summary: "Create an account and its first token (admin)",
        operationId: "createAccount",
        body: CreateAccountBody,
        response: { 201: AccountWithToken, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (req, reply) => {
      const account = await app.accounts.create(req.body.name);
      const token = await app.tokens.issue(account.id, "tenant", {
        name: "initial",
        expiresAt: tokenExpiry(undefined, app.settings.tokenMaxLifetimeSeconds),
      });
      return reply.status(201).send({ account, token });
    },
  );

  app.get(
    "/v1/accounts",
    {
      config: { adminOnly: true },
      schema: {
        tags: ["Accounts"],
        summary: "List accounts (admin)",
        operationId: "listAccounts",
        response: { 200: Type.Object({ items: Type.Array(Account) }), ...errorResponses(401, 403, 429) },
      },
    },
    async () => ({ items: await app.accounts.list() }),
  );

  app.get(
    "/v1/accounts/:id",
    {
      schema: {
        tags: ["Accounts"],
        summary: "Get an account (admin, or the account's own token)",
        operationId: "getAccount",
        params: IdParams,
        response: { 200: Account, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (req) => ownAccount(app, req, req.params.id),
  );

  app.post(
    "/v1/accounts/:id/tokens",
    {
      config: { audit: { command: "CreateToken", params: { id: "accountId" }, answer: { id: "tokenId" } } },
      schema: {
        tags: ["Accounts"],
        summary: "Issue another token for an account (rotation); the token is shown only in this answer",
        operationId: "createToken",
        params: IdParams,
        body: CreateTokenBody,
        response: { 201: IssuedToken, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (req, reply) => {
      const account = await ownAccount(app, req, req.params.id);
      return reply.status(201).send(await issueWithinCap(app, account.id, req.body));
    },
  );

  app.get(
    "/v1/accounts/:id/tokens",
    {
      schema: {
        tags: ["Accounts"],
        summary: "List an account's tokens, never their secrets (admins: `admin` lists the admin tokens)",
        operationId: "listTokens",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(TokenInfo) }), ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (req) => {
      const admins = req.params.id === ADMIN_ACCOUNT_ID && principalOf(req).role === "admin";
      const accountId = admins ? ADMIN_ACCOUNT_ID : (await ownAccount(app, req, req.params.id)).id;
      return { items: await app.tokens.list(accountId) };
    },
  );

  app.delete(
    "/v1/tokens/:id",
    {
      config: { audit: { command: "RevokeToken", params: { id: "tokenId" } } },
      schema: {
        tags: ["Accounts"],
        summary:
          "Revoke a token (admin, or a token of the same account); a bootstrap admin token too, until the " +
          "next start installs SDN_ADMIN_TOKEN again",
        operationId: "revokeToken",
        params: IdParams,
        response: { 204: { type: "null", description: "Revoked" }, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      const token = await app.tokens.find(req.params.id);
      if (token === undefined || (principal.role !== "admin" && token.accountId !== principal.accountId)) {
        throw new HttpError("NOT_FOUND", `token ${req.params.id} not found`);
      }
      noteAudited(req, { accountId: token.accountId });
      await app.tokens.revoke(token);
      return reply.status(204).send(null);
    },
  );
};
