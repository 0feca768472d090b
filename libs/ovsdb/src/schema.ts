import { OvsdbError } from "./errors.js";

/**
 * What the client needs from a database schema (RFC 7047 §3.2): which columns hold a
 * single value. update2's "modify" replaces those and toggles the elements of the others
 * (sets and maps, including optional 0..1 columns), so the difference matters.
 */
export class SchemaInfo {
  private constructor(
    readonly name: string,
    readonly version: string,
    private readonly scalar: Map<string, Set<string>>,
  ) {}

  static parse(json: unknown): SchemaInfo {
    const s = json as { name?: unknown; version?: unknown; tables?: unknown };
    if (typeof s?.name !== "string" || typeof s.tables !== "object" || s.tables === null) {
      throw new OvsdbError("MALFORMED_MESSAGE", "get_schema answered something that is not a schema");
    }
    const scalar = new Map<string, Set<string>>();
    for (const [table, def] of Object.entries(s.tables as Record<string, { columns?: Record<string, unknown> }>)) {
      const cols = new Set<string>();
      for (const [column, c] of Object.entries(def?.columns ?? {})) {
        const type = (c as { type?: unknown })?.type;
        if (typeof type === "string") cols.add(column);
        else if (typeof type === "object" && type !== null) {
          const t = type as { min?: unknown; max?: unknown; value?: unknown };
          if ((t.min ?? 1) === 1 && (t.max ?? 1) === 1 && t.value === undefined) cols.add(column);
        }
      }
      scalar.set(table, cols);
    }
    return new SchemaInfo(s.name, typeof s.version === "string" ? s.version : "", scalar);
  }

  hasTable(table: string): boolean {
    return this.scalar.has(table);
  }

  isScalar(table: string, column: string): boolean {
    return this.scalar.get(table)?.has(column) ?? false;
  }
}
