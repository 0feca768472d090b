import type { Atom, Datum, Row } from "./datum.js";

/** RFC 7047 §5.1 <condition>: [column, function, value]. */
export type Condition = [string, "<" | "<=" | "==" | "!=" | ">=" | ">" | "includes" | "excludes", Datum];
/** RFC 7047 §5.1 <mutation>: [column, mutator, value]. */
export type Mutation = [string, "+=" | "-=" | "*=" | "/=" | "%=" | "insert" | "delete", Datum];

/** The operations of RFC 7047 §5.2 that this client sends. */
export type Operation =
  | { op: "insert"; table: string; row: Row; "uuid-name"?: string }
  | { op: "select"; table: string; where: Condition[]; columns?: string[] }
  | { op: "update"; table: string; where: Condition[]; row: Row }
  | { op: "mutate"; table: string; where: Condition[]; mutations: Mutation[] }
  | { op: "delete"; table: string; where: Condition[] }
  | {
      op: "wait";
      table: string;
      where: Condition[];
      columns: string[];
      until: "==" | "!=";
      rows: Row[];
      timeout?: number;
    }
  | { op: "comment"; comment: string }
  | { op: "commit"; durable: boolean }
  | { op: "abort" }
  | { op: "assert"; lock: string };

/** One operation's result (RFC 7047 §5.2): what it produced, by kind. */
export interface OperationResult {
  uuid?: ["uuid", string];
  rows?: Row[];
  count?: number;
}

/** `_uuid == <id>`: the usual where clause for one row. */
export function byUuid(id: string): Condition[] {
  return [["_uuid", "==", ["uuid", id]]];
}

/** `<column> == <value>`. */
export function whereEq(column: string, value: Atom): Condition[] {
  return [[column, "==", value]];
}
