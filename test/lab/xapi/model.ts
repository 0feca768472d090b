import { randomUUID } from "node:crypto";
import type { XapiValue } from "./codec.js";

export type XapiRecord = { [field: string]: XapiValue };
export const NULL_REF = "OpaqueRef:NULL";
export const newRef = (): string => `OpaqueRef:${randomUUID()}`;

/** An XAPI error: its description list is [code, ...params], as on the wire. */
export class XapiFailure extends Error {
  constructor(readonly description: string[]) {
    super(description.join(" "));
  }
}

/** The objects of one emulated host, by class and reference. */
export class XapiDatabase {
  private readonly tables = new Map<string, Map<string, XapiRecord>>(
    ["host", "host_metrics", "pool", "PIF", "network", "VM", "VIF"].map((cls) => [cls, new Map()]),
  );

  table(cls: string): Map<string, XapiRecord> {
    let t = this.tables.get(cls);
    if (t === undefined) {
      t = new Map();
      this.tables.set(cls, t);
    }
    return t;
  }

  hasClass(cls: string): boolean {
    return this.tables.has(cls);
  }

  insert(cls: string, record: XapiRecord, ref = newRef()): string {
    this.table(cls).set(ref, { uuid: randomUUID(), ...record });
    return ref;
  }

  get(cls: string, ref: string): XapiRecord {
    const r = this.table(cls).get(ref);
    if (r === undefined) throw new XapiFailure(["HANDLE_INVALID", cls, ref]);
    return r;
  }

  remove(cls: string, ref: string): void {
    this.get(cls, ref);
    this.table(cls).delete(ref);
  }

  all(cls: string): Record<string, XapiRecord> {
    return Object.fromEntries(this.table(cls));
  }

  refs(cls: string, where: (r: XapiRecord) => boolean = () => true): string[] {
    return [...this.table(cls)].filter(([, r]) => where(r)).map(([ref]) => ref);
  }

  /** Adds `item` to the set-valued field of an object (e.g. network.VIFs). */
  addTo(cls: string, ref: string, field: string, item: string): void {
    const r = this.get(cls, ref);
    r[field] = [...((r[field] as string[]) ?? []), item];
  }

  removeFrom(cls: string, ref: string, field: string, item: string): void {
    const r = this.table(cls).get(ref);
    if (r !== undefined) r[field] = ((r[field] as string[]) ?? []).filter((x) => x !== item);
  }
}
