import { type Atom, type Datum, type Row, atomKey, atomsOf } from "./datum.js";
import { OvsdbError } from "./errors.js";
import type { SchemaInfo } from "./schema.js";

/** One row that appeared, changed or disappeared; `old`/`new` are whole rows. */
export interface RowChange {
  table: string;
  uuid: string;
  old?: Row;
  new?: Row;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function malformed(what: string): OvsdbError {
  return new OvsdbError("MALFORMED_MESSAGE", `a monitor update is malformed: ${what}`);
}

/** update2 "modify" of a set or map column (ovsdb-server(7)): toggle elements / keys. */
function applyDiff(old: Datum | undefined, diff: Datum): Datum {
  if (Array.isArray(diff) && diff[0] === "map") {
    const entries = new Map<string, [Atom, Atom]>();
    if (Array.isArray(old) && old[0] === "map") for (const kv of old[1]) entries.set(atomKey(kv[0]), kv);
    for (const [k, v] of diff[1]) {
      const key = atomKey(k);
      const had = entries.get(key);
      if (had && atomKey(had[1]) === atomKey(v)) entries.delete(key);
      else entries.set(key, [k, v]);
    }
    return ["map", [...entries.values()]];
  }
  const atoms = new Map<string, Atom>(atomsOf(old).map((a) => [atomKey(a), a]));
  for (const a of atomsOf(diff)) {
    const key = atomKey(a);
    if (atoms.has(key)) atoms.delete(key);
    else atoms.set(key, a);
  }
  return ["set", [...atoms.values()]];
}

/** The rows a monitor sees, kept current from its updates. */
export class TableCache {
  private readonly tables = new Map<string, Map<string, Row>>();

  constructor(
    private readonly schema: SchemaInfo,
    tableNames: string[],
  ) {
    for (const t of tableNames) this.tables.set(t, new Map());
  }

  rows(table: string): ReadonlyMap<string, Row> {
    return this.tables.get(table) ?? new Map();
  }

  /**
   * Replaces everything with a fresh initial state (first monitor, or after a reconnect)
   * and returns what differs from before, so a watcher also learns of changes made while
   * the connection was down.
   */
  replace(updates: unknown, format: "update" | "update2"): RowChange[] {
    const fresh = new TableCache(this.schema, [...this.tables.keys()]);
    fresh.apply(updates, format);
    const changes: RowChange[] = [];
    for (const [table, before] of this.tables) {
      const after = fresh.tables.get(table)!;
      for (const [id, row] of after) {
        const old = before.get(id);
        if (!old || JSON.stringify(old) !== JSON.stringify(row)) changes.push({ table, uuid: id, old, new: row });
      }
      for (const [id, old] of before) if (!after.has(id)) changes.push({ table, uuid: id, old });
      this.tables.set(table, after);
    }
    return changes;
  }

  /** Applies an update (monitor) or update2 (monitor_cond) body; returns the changes. */
  apply(updates: unknown, format: "update" | "update2"): RowChange[] {
    if (!isObject(updates)) throw malformed("not an object");
    const changes: RowChange[] = [];
    for (const [table, rowsUpdate] of Object.entries(updates)) {
      const rows = this.tables.get(table);
      if (!rows) throw malformed(`table ${table} was not asked for`);
      if (!isObject(rowsUpdate)) throw malformed(`table ${table} is not an object`);
      for (const [id, u] of Object.entries(rowsUpdate)) {
        if (!isObject(u)) throw malformed(`row ${id} is not an object`);
        const old = rows.get(id);
        const next = format === "update2" ? this.next2(table, old, u) : this.next1(u);
        if (next === undefined) rows.delete(id);
        else rows.set(id, next);
        if (old !== undefined || next !== undefined) changes.push({ table, uuid: id, old, new: next });
      }
    }
    return changes;
  }

  /** RFC 7047 <row-update>: {old?, new?}; no "new" means deleted. */
  private next1(u: Record<string, unknown>): Row | undefined {
    if (u.new === undefined) return undefined;
    if (!isObject(u.new)) throw malformed("'new' is not a row");
    return u.new as Row;
  }

  /** <row-update2>: exactly one of initial / insert / modify / delete. */
  private next2(table: string, old: Row | undefined, u: Record<string, unknown>): Row | undefined {
    if ("delete" in u) return undefined;
    const body = u.initial ?? u.insert;
    if (body !== undefined) {
      if (!isObject(body)) throw malformed("'initial'/'insert' is not a row");
      return body as Row;
    }
    if (!isObject(u.modify)) throw malformed("a row update without initial, insert, modify or delete");
    if (!old) throw malformed(`'modify' of row unknown to us in ${table}`);
    const next: Row = { ...old };
    for (const [column, diff] of Object.entries(u.modify as Row)) {
      next[column] = this.schema.isScalar(table, column) ? diff : applyDiff(old[column], diff);
    }
    return next;
  }
}
