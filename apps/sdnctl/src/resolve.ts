/**
 * Names wherever ids are asked (`sdnctl networks get web`): a reference shaped like the
 * kind's id is used as it is; anything else is looked up by name among what the caller
 * may list (a tenant: its own account). No match and several matches are errors that say
 * what was found, so a script never acts on the wrong resource.
 */
import { MAX_PAGE_LIMIT } from "@sdn/contracts";
import { ApiError, CliError, EXIT, type ExitCode } from "./errors.js";
import type { Session } from "./session.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Named {
  id: string;
  name: string;
  accountId?: string;
}

interface Kind {
  path: string;
  /** The field of the list answer that holds the items. */
  field: string;
  /** A paged list route (limit and cursor); the others answer everything at once. */
  paged: boolean;
  isId: (ref: string) => boolean;
}

export const KINDS = {
  network: { path: "/v1/networks", field: "networks", paged: true, isId: (r) => UUID.test(r) },
  host: { path: "/v1/hosts", field: "hosts", paged: false, isId: (r) => UUID.test(r) },
  router: { path: "/v1/routers", field: "routers", paged: false, isId: (r) => /^vr-[0-9a-f]{16}$/.test(r) },
  account: { path: "/v1/accounts", field: "items", paged: false, isId: (r) => UUID.test(r) || r === "admin" },
} satisfies Record<string, Kind>;
export type KindName = keyof typeof KINDS;

/** A name that matches no resource, or more than one. */
export class NameLookupError extends CliError {
  override readonly name = "NameLookupError";
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    private readonly matches: readonly Named[] = [],
  ) {
    super(message);
  }

  override detailLines(): string[] {
    return this.matches.map(
      (m) => `  ${m.id}  ${m.name}${m.accountId === undefined ? "" : `  (account ${m.accountId})`}`,
    );
  }
}

/** Every item of a paged list route, following nextCursor with the largest pages. */
export const getAllPages = async <T>(s: Session, path: string, field: string): Promise<T[]> => {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(MAX_PAGE_LIMIT), ...(cursor === undefined ? {} : { cursor }) });
    const page = await s.client.get<Record<string, unknown> & { nextCursor?: string }>(`${path}?${query.toString()}`);
    items.push(...((page[field] as T[] | undefined) ?? []));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return items;
};

/** Every item of a kind's list route. */
export const listAll = async <T>(s: Session, kind: KindName): Promise<T[]> => {
  const k: Kind = KINDS[kind];
  if (k.paged) return getAllPages<T>(s, k.path, k.field);
  return (await s.client.get<Record<string, T[] | undefined>>(k.path))[k.field] ?? [];
};

/** The id `ref` names: itself when it is shaped like an id (or is one), else the one resource by that name. */
export const resolveId = async (s: Session, kind: KindName, ref: string): Promise<string> => {
  const k: Kind = KINDS[kind];
  if (k.isId(ref)) return ref;
  const items = await listAll<Named>(s, kind);
  if (items.some((i) => i.id === ref)) return ref;
  const matches = items.filter((i) => i.name === ref);
  if (matches.length === 1) return (matches[0] as Named).id;
  if (matches.length === 0) throw new NameLookupError(`no ${kind} has the id or name '${ref}'`, EXIT.refused);
  throw new NameLookupError(
    `${matches.length} ${kind}s are named '${ref}'; give the id of one of them`,
    EXIT.usage,
    matches,
  );
};

/**
 * Host id → name, for tables that would otherwise print UUIDs. A caller that may not
 * list hosts (a tenant), or a registry that does not answer, gives an empty map: the ids.
 */
export const hostNames = async (s: Session): Promise<Map<string, string>> => {
  try {
    return new Map((await listAll<Named>(s, "host")).map((h) => [h.id, h.name]));
  } catch (err) {
    // Names are a courtesy: a refusal or a failing host registry leaves the ids.
    if (err instanceof ApiError) return new Map();
    throw err;
  }
};

/** A kind's list, or nothing when the caller's role may not list it (403). */
export const listIfAllowed = async <T>(s: Session, kind: KindName): Promise<T[]> => {
  try {
    return await listAll<T>(s, kind);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return [];
    throw err;
  }
};
