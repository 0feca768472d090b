import { auditedResources, isAuditedValue, isSubjectToken } from "@sdn/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { GatewayChange, GatewayAuditWriter } from "./audit-writer.js";

/**
 * How a route that changes the gateway's own state is recorded (route config `audit`).
 * Every value is named one by one: a record never copies an answer whole, so a token or
 * a `.creds` text it carries cannot reach the trail.
 */
export interface AuditedRoute {
  /** The record's command name, e.g. `CreateToken`. */
  readonly command: string;
  /** Path parameters recorded, under the resource name given; `accountId` is the account changed. */
  readonly params?: Readonly<Record<string, string>>;
  /** Body fields recorded as they are (integers); the body's identifiers and names always are (auditedResources). */
  readonly bodyFields?: readonly string[];
  /** Fields of a successful answer recorded, by path (`token.id`), under the resource name given. */
  readonly answer?: Readonly<Record<string, string>>;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** A change of the gateway's own state, recorded in the audit trail (docs/audit.md). */
    audit?: AuditedRoute;
    /** The bus command the route sends: the service that runs it records it when it changes state. */
    command?: string;
  }
}

const notes = new WeakMap<FastifyRequest, Record<string, string>>();

/**
 * Adds what a handler learnt and the route does not show (whose token it revoked). Call it
 * only once the caller is known to be allowed to see it: a refused caller's record must not
 * tell it about another account.
 */
export const noteAudited = (req: FastifyRequest, resources: Record<string, string>): void => {
  notes.set(req, { ...notes.get(req), ...resources });
};

const parse = (payload: unknown): unknown => {
  if (typeof payload !== "string") return undefined;
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return undefined;
  }
};

const at = (value: unknown, path: string): unknown =>
  path
    .split(".")
    .reduce<unknown>((v, key) => (typeof v === "object" && v !== null ? Reflect.get(v, key) : undefined), value);

const plain = (value: unknown): string | undefined => {
  const text = typeof value === "number" || typeof value === "boolean" ? String(value) : value;
  return isAuditedValue(text) ? text : undefined;
};

const pick = (into: Record<string, string>, from: unknown, fields: Iterable<[string, string]>): void => {
  for (const [path, name] of fields) {
    const value = plain(at(from, path));
    if (value !== undefined) into[name] = value;
  }
};

/** The record of one answered call of an audited route; undefined when nothing is to be recorded. */
export const changeOf = (req: FastifyRequest, status: number, payload: unknown): GatewayChange | undefined => {
  const route = req.routeOptions.config.audit;
  const principal = req.principal;
  // Without a valid token nobody is known to have tried anything (and floods of those are not stored).
  if (route === undefined || principal === undefined) return undefined;
  const ok = status < 400;
  const answer = parse(payload);
  const resources = auditedResources(req.body, undefined);
  pick(
    resources,
    req.body,
    (route.bodyFields ?? []).map((f) => [f, f]),
  );
  pick(resources, req.params, Object.entries(route.params ?? {}));
  if (ok) pick(resources, answer, Object.entries(route.answer ?? {}));
  Object.assign(resources, notes.get(req));
  // Filed under the account changed, so its tenant reads it; a tenant's refused attempt
  // under its own account, so that naming another account writes nothing into that one's trail.
  const target = resources.accountId;
  const filed =
    target !== undefined && isSubjectToken(target) && (ok || principal.role === "admin") ? target : principal.accountId;
  const errorCode = ok ? undefined : plain(at(answer, "error.code"));
  return {
    command: route.command,
    accountId: filed,
    role: principal.role,
    tokenId: principal.tokenId,
    resources,
    ok,
    ...(errorCode === undefined ? {} : { errorCode }),
  };
};

/** onSend hook: records every authenticated call of an audited route, refused ones too, before it is answered. */
export const auditGatewayChanges =
  (writer: GatewayAuditWriter) =>
  async (req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const change = changeOf(req, reply.statusCode, payload);
    if (change !== undefined) await writer.write(change);
    return payload;
  };
