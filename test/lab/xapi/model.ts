import { randomUUID } from "node:crypto";
import { NULL_REF } from "./codec.js";
import { CLASSES, RECORD_DEFAULTS, type XapiRecord } from "./records.js";

export { NULL_REF, type XapiRecord };
export const newRef = (): string => `OpaqueRef:${randomUUID()}`;

/** An XAPI error: its description list is [code, ...params], as on the wire. */
export class XapiFailure extends Error {
  constructor(readonly description: string[]) {
    super(description.join(" "));
  }
}

/** One entry of event.from's answer (ocaml/xapi/xapi_event.ml). */
export interface XapiEvent {
  id: bigint;
  timestamp: Date;
  class: string;
  operation: "add" | "mod" | "del";
  ref: string;
  snapshot?: XapiRecord;
}

interface Row {
  record: XapiRecord;
  created: number;
  modified: number;
}

/** event.from tokens: "%020d,%020d" of the database generation (xapi_event.ml). */
export const tokenOf = (generation: number): string =>
  `${String(generation).padStart(20, "0")},${"0".padStart(20, "0")}`;

/**
 * The objects of one emulated host, by class and reference, with XAPI's generation
 * counter: every insert, change and removal is numbered, so event.from can answer what
 * changed since a token, each object once with its latest snapshot, as XAPI does.
 */
export class XapiDatabase {
  private readonly tables = new Map<string, Map<string, Row>>(CLASSES.map((cls) => [cls, new Map()]));
  private readonly deleted: { cls: string; ref: string; generation: number; created: number }[] = [];
  private generation = 0;
  private waiters: (() => void)[] = [];

  private table(cls: string): Map<string, Row> {
    const t = this.tables.get(cls);
    if (t === undefined) throw new XapiFailure(["MESSAGE_METHOD_UNKNOWN", cls]);
    return t;
  }

  hasClass(cls: string): boolean {
    return this.tables.has(cls);
  }

  /** The class as XAPI spells it, from any case (event.from takes lower case). */
  classNamed(name: string): string | undefined {
    return CLASSES.find((c) => c.toLowerCase() === name.toLowerCase());
  }

  /** A new object: every field of the class at its default, then `fields`. */
  insert(cls: string, fields: XapiRecord, ref = newRef()): string {
    const defaults = RECORD_DEFAULTS[cls];
    if (defaults === undefined) throw new XapiFailure(["MESSAGE_METHOD_UNKNOWN", cls]);
    const generation = this.bump();
    this.table(cls).set(ref, {
      record: { ...defaults(), uuid: randomUUID(), ...fields },
      created: generation,
      modified: generation,
    });
    return ref;
  }

  get(cls: string, ref: string): XapiRecord {
    const r = this.table(cls).get(ref);
    if (r === undefined) throw new XapiFailure(["HANDLE_INVALID", cls, ref]);
    return r.record;
  }

  /** Changes fields of an object (an event "mod"). */
  update(cls: string, ref: string, fields: XapiRecord): void {
    Object.assign(this.get(cls, ref), fields);
    this.touch(cls, ref);
  }

  /** Marks an object changed without changing it (event.inject, or after an in-place edit). */
  touch(cls: string, ref: string): void {
    this.get(cls, ref);
    (this.table(cls).get(ref) as Row).modified = this.bump();
  }

  remove(cls: string, ref: string): void {
    const row = this.table(cls).get(ref);
    if (row === undefined) throw new XapiFailure(["HANDLE_INVALID", cls, ref]);
    this.table(cls).delete(ref);
    this.deleted.push({ cls, ref, generation: this.bump(), created: row.created });
  }

  all(cls: string): Record<string, XapiRecord> {
    return Object.fromEntries([...this.table(cls)].map(([ref, row]) => [ref, row.record]));
  }

  refs(cls: string, where: (r: XapiRecord) => boolean = () => true): string[] {
    return [...this.table(cls)].filter(([, row]) => where(row.record)).map(([ref]) => ref);
  }

  /** Adds `item` to the set-valued field of an object (e.g. network.VIFs). */
  addTo(cls: string, ref: string, field: string, item: string): void {
    const r = this.get(cls, ref);
    this.update(cls, ref, { [field]: [...((r[field] as string[]) ?? []), item] });
  }

  removeFrom(cls: string, ref: string, field: string, item: string): void {
    const r = this.table(cls).get(ref)?.record;
    if (r !== undefined) this.update(cls, ref, { [field]: ((r[field] as string[]) ?? []).filter((x) => x !== item) });
  }

  get token(): string {
    return tokenOf(this.generation);
  }

  /** What changed in `classes` after generation `since`: one event per object. */
  changesSince(classes: readonly string[], since: number): XapiEvent[] {
    const events: XapiEvent[] = [];
    const now = new Date();
    for (const cls of classes) {
      for (const [ref, row] of this.table(cls)) {
        if (row.modified <= since) continue;
        events.push({
          id: BigInt(row.modified),
          timestamp: now,
          class: cls.toLowerCase(),
          operation: row.created > since ? "add" : "mod",
          ref,
          snapshot: row.record,
        });
      }
    }
    for (const d of this.deleted) {
      // An object both made and removed since the token never existed for the caller.
      if (d.generation > since && d.created <= since && classes.includes(d.cls)) {
        events.push({
          id: BigInt(d.generation),
          timestamp: now,
          class: d.cls.toLowerCase(),
          operation: "del",
          ref: d.ref,
        });
      }
    }
    return events.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Resolves once the database changes or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private bump(): number {
    this.generation++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    return this.generation;
  }

  get currentGeneration(): number {
    return this.generation;
  }

  count(cls: string): number {
    return this.table(cls).size;
  }

  /** The names of the fields of a class's records. */
  static fields(cls: string): string[] {
    return Object.keys((RECORD_DEFAULTS[cls] as () => XapiRecord)());
  }
}
