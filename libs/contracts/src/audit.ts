import Type, { type Static } from "@sdn/typebox";
import type { CommandDefinition } from "./definitions.js";
import { ROLES } from "./headers.js";
import { nextCursorField, pageRequestFields } from "./paging.js";
import { accountScope, isSubjectToken, SYSTEM_SCOPE } from "./subjects.js";

/**
 * The audit trail (docs/audit.md, stream STREAMS.audit): one record per mutating durable
 * command, written by the service that consumed it, on `sdn.audit.<scope>.<service>.<Command>`
 * (scope: the account the command ran for, or `_sys`). Only services may publish there, each
 * under its own name, and only the gateway reads it: neither tenants nor admin bus
 * credentials reach it.
 */
export const auditSubject = (service: string, command: string, accountId: string | undefined): string =>
  `sdn.audit.${accountScope(accountId)}.${service}.${command}`;

/** Records of one account (or every account), optionally of one command name. */
export const auditFilter = (opts: { accountId?: string; command?: string } = {}): string =>
  `sdn.audit.${opts.accountId === undefined ? "*" : accountScope(opts.accountId)}.*.${opts.command ?? "*"}`;

/** What a service may publish into the trail: records under its own name only. */
export const auditPublishSubject = (service: string): string => `sdn.audit.*.${service}.*`;

/** Commands that only read: named so, they change nothing and are not recorded. */
const READ_ONLY = /^(Get|List|Check|Can)[A-Z]/;

/** Whether a command is recorded: every durable command that may change state. */
export const isAuditedCommand = (def: Pick<CommandDefinition, "name" | "delivery">): boolean =>
  def.delivery === "durable" && !READ_ONLY.test(def.name);

/**
 * The fields a record copies from a command body (top level only): identifiers and names.
 * Everything else (addresses, rule bodies, sealed credentials, user data) stays out, so a
 * field added to a command later is never recorded by accident.
 */
const AUDITED_FIELD = /^(id|name|[a-z][A-Za-z]*Id)$/;
const AUDITED_VALUE = /^[A-Za-z0-9_.:@ -]{1,128}$/;

/** Whether a value may stand in a record: a plain identifier or name, nothing that could carry a secret or markup. */
export const isAuditedValue = (value: unknown): value is string =>
  typeof value === "string" && AUDITED_VALUE.test(value);

/** The identifiers a command names: whitelisted fields of its body, and the `id` its answer returns. */
export const auditedResources = (body: unknown, answerData: unknown): Record<string, string> => {
  const resources: Record<string, string> = {};
  if (typeof body === "object" && body !== null && !Array.isArray(body)) {
    for (const [key, value] of Object.entries(body)) {
      if (AUDITED_FIELD.test(key) && isAuditedValue(value)) resources[key] = value;
    }
  }
  if (typeof answerData === "object" && answerData !== null && "id" in answerData) {
    const id = answerData.id;
    if (isAuditedValue(id) && resources.id === undefined) resources.id = id;
  }
  return resources;
};

export const AuditRecord = Type.Object(
  {
    commandId: Type.String(),
    at: Type.String({ format: "date-time", description: "When the service answered the command" }),
    service: Type.String({ description: "The service that ran it" }),
    command: Type.String({ description: "Command name, e.g. CreateNetwork" }),
    accountId: Type.Optional(Type.String({ description: "The account it ran for (absent: none)" })),
    role: Type.Enum([...ROLES], { description: "What the caller acted as" }),
    origin: Type.String({
      description:
        "Bus identity that sent it: `api-gateway` (HTTP), `admin` (admin bus credentials), " +
        "`acct.<accountId>` (an account's bus credentials) or a service's name",
    }),
    tokenId: Type.Optional(Type.String({ description: "The API token of the HTTP call (origin api-gateway only)" })),
    resources: Type.Record(Type.String(), Type.String(), {
      description: "Identifiers and names the command named (never other body fields), and the id it created",
    }),
    ok: Type.Boolean(),
    errorCode: Type.Optional(Type.String({ description: "The error code when ok is false" })),
  },
  { additionalProperties: false, $id: "AuditRecord" },
);
export type AuditRecord = Static<typeof AuditRecord>;

export const AuditQuery = Type.Object(
  {
    accountId: Type.Optional(
      Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$", description: "Only this account's records (admins)" }),
    ),
    command: Type.Optional(Type.String({ pattern: "^[A-Za-z][A-Za-z0-9]{0,63}$", description: "Only this command" })),
    since: Type.Optional(Type.String({ format: "date-time", description: "Records at or after this time" })),
    until: Type.Optional(Type.String({ format: "date-time", description: "Records at or before this time" })),
    ...pageRequestFields,
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditPage = Type.Object(
  { items: Type.Array(AuditRecord), ...nextCursorField },
  { additionalProperties: false, $id: "AuditPage" },
);
export type AuditPage = Static<typeof AuditPage>;

/** The account a record's subject files it under; undefined for the system scope. */
export const auditAccountOf = (subject: string): string | undefined => {
  const scope = subject.split(".")[2] ?? SYSTEM_SCOPE;
  return scope === SYSTEM_SCOPE || !isSubjectToken(scope) ? undefined : scope;
};
