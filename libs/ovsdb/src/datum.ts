/**
 * RFC 7047 §5.1 values: atoms, sets and maps in their JSON notation, with helpers to build
 * them and to read them back into plain JavaScript.
 */
export type UuidAtom = ["uuid", string];
export type NamedUuidAtom = ["named-uuid", string];
export type Atom = string | number | boolean | UuidAtom | NamedUuidAtom;
export type OvsSet = ["set", Atom[]];
export type OvsMap = ["map", [Atom, Atom][]];
export type Datum = Atom | OvsSet | OvsMap;
/** A row as the server sends it: column name → value. */
export type Row = Record<string, Datum>;

export const uuid = (id: string): UuidAtom => ["uuid", id];
export const namedUuid = (name: string): NamedUuidAtom => ["named-uuid", name];
export const ovsSet = (atoms: Atom[]): OvsSet => ["set", atoms];
export const ovsMap = (entries: Record<string, string>): OvsMap => ["map", Object.entries(entries)];

function isTagged(v: unknown, tag: string): v is [string, unknown] {
  return Array.isArray(v) && v.length === 2 && v[0] === tag;
}

/** Any datum as a list of atoms (a bare atom is a set of one, RFC 7047 §5.1). */
export function atomsOf(v: Datum | undefined): Atom[] {
  if (v === undefined) return [];
  if (isTagged(v, "set")) return (v as OvsSet)[1];
  if (isTagged(v, "map")) return [];
  return [v];
}

/** An atom as a string: a uuid gives its id. */
export function atomText(a: Atom): string {
  return Array.isArray(a) ? a[1] : String(a);
}

/** A map column with string keys and values (external_ids, options, other_config, ...). */
export function mapOf(v: Datum | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (isTagged(v, "map")) for (const [k, x] of (v as OvsMap)[1]) out[atomText(k)] = atomText(x);
  return out;
}

/** The uuids in a reference column (ports, interfaces, bridges). */
export function uuidsOf(v: Datum | undefined): string[] {
  return atomsOf(v).flatMap((a) => (isTagged(a, "uuid") ? [(a as UuidAtom)[1]] : []));
}

/** An optional column (a set of at most one): its value or undefined. */
export function optional(v: Datum | undefined): Atom | undefined {
  return atomsOf(v)[0];
}

/** A stable key for comparing atoms (uuids and strings never collide). */
export function atomKey(a: Atom): string {
  return JSON.stringify(a);
}
