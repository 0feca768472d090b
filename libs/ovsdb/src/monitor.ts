import { EventEmitter } from "node:events";
import type { Row } from "./datum.js";
import type { SchemaInfo } from "./schema.js";
import { type RowChange, TableCache } from "./table-cache.js";

/** Which columns of which tables a monitor follows. */
export type MonitorSpec = Record<string, string[]>;

/**
 * A monitor's live view of some tables. Emits "change" with the rows that changed, after
 * the cache holds them; survives reconnects (the client re-issues it and emits what
 * changed while the connection was down).
 */
export class Monitor extends EventEmitter<{ change: [RowChange[]] }> {
  readonly cache: TableCache;

  constructor(
    readonly id: string,
    readonly db: string,
    readonly spec: MonitorSpec,
    schema: SchemaInfo,
  ) {
    super();
    this.cache = new TableCache(schema, Object.keys(spec));
  }

  rows(table: string): ReadonlyMap<string, Row> {
    return this.cache.rows(table);
  }

  /** @internal the client feeds updates in. */
  feed(changes: RowChange[]): void {
    if (changes.length > 0) this.emit("change", changes);
  }
}
