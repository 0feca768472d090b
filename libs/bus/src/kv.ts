import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { Kvm, type KV, type KvOptions } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { BusError } from "./errors.js";
import { listKeys } from "./kv-keys.js";

/** The write lost a compare-and-swap race: someone else changed the key first. */
export const isRevisionConflict = (err: unknown): boolean =>
  err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;

export class CasExhaustedError extends BusError {
  override readonly name = "CasExhaustedError";
  constructor(
    readonly key: string,
    attempts: number,
  ) {
    super("CONFLICT", `key ${key} kept changing under ${attempts} attempts to update it; retry the request`);
  }
}

/** A KV bucket of JSON documents with compare-and-swap writes. */
export class JsonBucket<T> {
  private constructor(
    readonly kv: KV,
    private readonly nc: NatsConnection,
    private readonly name: string,
  ) {}

  static async open<T>(nc: NatsConnection, name: string, opts: Partial<KvOptions> = {}): Promise<JsonBucket<T>> {
    return new JsonBucket<T>(await new Kvm(nc).create(name, { history: 1, ...opts }), nc, name);
  }

  async get(key: string): Promise<{ value: T; revision: number } | undefined> {
    const e = await this.kv.get(key);
    if (e === null || e.operation !== "PUT") return undefined;
    return { value: e.json<T>(), revision: e.revision };
  }

  /** Writes only if the key does not exist; returns false when it does. */
  async createIfAbsent(key: string, value: T): Promise<boolean> {
    try {
      await this.kv.create(key, JSON.stringify(value));
      return true;
    } catch (err) {
      if (isRevisionConflict(err)) return false;
      throw err;
    }
  }

  /**
   * Read, change, write with the read revision; on a lost race read again and retry.
   * `change` gets undefined for a missing key and returns the new value, or undefined to
   * leave the key as it is.
   */
  async update(key: string, change: (current: T | undefined) => T | undefined, attempts = 20): Promise<T | undefined> {
    for (let i = 0; i < attempts; i++) {
      const current = await this.get(key);
      const next = change(current?.value);
      if (next === undefined) return current?.value;
      try {
        if (current === undefined) await this.kv.create(key, JSON.stringify(next));
        else await this.kv.update(key, JSON.stringify(next), current.revision);
        return next;
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    throw new CasExhaustedError(key, attempts);
  }

  /** Creates the key; its revision, or undefined when the key exists. */
  async tryCreate(key: string, value: T): Promise<number | undefined> {
    try {
      return await this.kv.create(key, JSON.stringify(value));
    } catch (err) {
      if (isRevisionConflict(err)) return undefined;
      throw err;
    }
  }

  /** Writes only if the key is still at `revision`; the new revision, or undefined on a lost race. */
  async tryUpdate(key: string, value: T, revision: number): Promise<number | undefined> {
    try {
      return await this.kv.update(key, JSON.stringify(value), revision);
    } catch (err) {
      if (isRevisionConflict(err)) return undefined;
      throw err;
    }
  }

  /** Deletes only if the key is still at `revision`; false on a lost race. */
  async tryDelete(key: string, revision: number): Promise<boolean> {
    try {
      await this.kv.delete(key, { previousSeq: revision });
      return true;
    } catch (err) {
      if (isRevisionConflict(err)) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  /** Every live entry under a key filter, read fresh; for listings, not for hot paths. */
  async entries(filter = ">"): Promise<{ key: string; value: T }[]> {
    const keys = await this.keys(filter);
    const read = await Promise.all(keys.map(async (key) => ({ key, entry: await this.get(key) })));
    return read.flatMap(({ key, entry }) => (entry === undefined ? [] : [{ key, value: entry.value }]));
  }

  keys(filter = ">"): Promise<string[]> {
    return listKeys(this.nc, this.name, filter);
  }
}
