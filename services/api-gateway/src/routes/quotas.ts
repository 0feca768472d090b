import { QuotaOverrides, Quotas } from "@sdn/contracts";
import Type from "@sdn/typebox";
import type { GatewayApp } from "../app.js";
import { HttpError } from "../http-errors.js";
import { quotasOf } from "../limits/quotas.js";
import { errorResponses } from "../schemas.js";
import { IdParams, ownAccount } from "./accounts.js";

/** An account's quotas: tenants read their own, admins read and set any account's. */
export const quotaRoutes = async (app: GatewayApp): Promise<void> => {
  const defaults = app.settings.defaultQuotas;
  app.get(
    "/v1/accounts/:id/quotas",
    {
      schema: {
        tags: ["Accounts"],
        summary: "Get an account's quotas (its own values, the defaults for the rest)",
        operationId: "getQuotas",
        params: IdParams,
        response: { 200: Quotas, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (req) => quotasOf(defaults, await ownAccount(app, req, req.params.id)),
  );

  app.put(
    "/v1/accounts/:id/quotas",
    {
      config: {
        adminOnly: true,
        audit: {
          command: "SetQuotas",
          params: { id: "accountId" },
          bodyFields: Object.keys(QuotaOverrides.properties),
        },
      },
      schema: {
        tags: ["Accounts"],
        summary: "Set some of an account's quotas (admin); lowering one below what is held refuses only new creates",
        operationId: "setQuotas",
        params: IdParams,
        body: Type.Object(QuotaOverrides.properties, { additionalProperties: false, minProperties: 1 }),
        response: { 200: Quotas, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (req) => {
      const account = await app.accounts.setQuotas(req.params.id, req.body);
      if (account === undefined) throw new HttpError("NOT_FOUND", `account ${req.params.id} not found`);
      return quotasOf(defaults, account);
    },
  );
};
