import { AuditPage, AuditQuery } from "@sdn/contracts";
import type { GatewayApp } from "../app.js";
import { AuditReader } from "../audit/audit-reader.js";
import { principalOf } from "../auth/authenticate.js";
import { HttpError } from "../http-errors.js";
import { errorResponses } from "../schemas.js";

/** `GET /v1/audit`: who changed what (docs/audit.md). Admins read every account's records, tenants their own. */
export const auditRoutes = async (app: GatewayApp): Promise<void> => {
  const reader = await AuditReader.open(app.bus.nc);
  app.get(
    "/v1/audit",
    {
      schema: {
        tags: ["Audit"],
        summary: "List audit records, oldest first: every mutating command with who sent it and its outcome",
        description:
          "Admins see every account's records (filter with accountId); a tenant sees its own account's only. " +
          "Filter by command name and time; page with cursor/nextCursor.",
        operationId: "listAuditRecords",
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const q = req.query;
      if (principal.role !== "admin" && q.accountId !== undefined && q.accountId !== principal.accountId) {
        throw new HttpError("FORBIDDEN", "a tenant reads only its own account's audit records");
      }
      return reader.page({ ...q, accountId: principal.role === "admin" ? q.accountId : principal.accountId });
    },
  );
};
