import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm, type KV, type KvOptions } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { CasConfirmation } from "./cas-confirm.js";
import { BusError } from "./errors.js";
import { listKeys } from "./kv-keys.js";
import { storageOf } from "./storage.js";
import { isTransient, retryTransient } from "./transient.js";

/** The write lost a compare-and-swap race: someone else changed the key first. */
export const isRevisionConflict = (err: unknown): boolean =>
  err instanceof WriteOverwrittenError ||
  (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence);

/**
 * The stream (a bucket's) was reported missing: in a cluster, for a moment after another
 * process created it, a server that has not applied the create yet answers so.
 */
export const isStreamNotFound = (err: unknown): boolean =>
  err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;

export class CasExhaustedError extends BusError {
  override readonly name = "CasExhaustedError";
  constructor(
    readonly key: string,
    attempts: number,
  ) {
    super("CONFLICT", `key ${key} kept changing under ${attempts} attempts to update it; retry the request`);
  }
}

/**
 * The server acknowledged a compare-and-swap write, but a write racing with it was stored
 * after it, overwriting it (a server that checks such writes only before proposing them:
 * see CasConfirmation). Counts as a lost race.
 */
export class WriteOverwrittenError extends BusError {
  override readonly name = "WriteOverwrittenError";
  constructor(readonly key: string) {
    super("CONFLICT", `the write to key ${key} was overwritten by a concurrent one; retry the request`);
  }
}

/** A KV bucket of JSON documents with compare-and-swap writes. */
export class JsonBucket<T> {
  private readonly cas: CasConfirmation;

  private constructor(
    readonly kv: KV,
    private readonly nc: NatsConnection,
    private readonly name: string,
    replicas: number,
    timeoutMs: number | undefined,
  ) {
    this.cas = new CasConfirmation(nc, name, replicas, timeoutMs);
  }

  /**
   * Opens the bucket, creating it with the deployment's replica count (SDN_NATS_REPLICAS);
   * an existing bucket with another count is moved to it, so a deployment grown from one
   * server to a cluster gets replicated state at its next start.
   *
   * Reads go to the stream leader, not to any replica (`allow_direct: false`): a follower
   * answers a direct get from what it has applied, so a read right after a write made
   * through another replica can miss it, and nats-server before 2.9.17 serves direct gets
   * from a restarted follower before it caught up (nats-server#4162; a listing of 900
   * reserved addresses came back with 899). The leader read costs one JetStream API hop.
   */
  static async open<T>(
    nc: NatsConnection,
    name: string,
    opts: Partial<KvOptions> = {},
    /** How long one call waits for the server before it is tried again (JetStream's default: 5 s). */
    timeoutMs?: number,
  ): Promise<JsonBucket<T>> {
    const { replicas } = storageOf(nc);
    const js = jetstream(nc, timeoutMs === undefined ? {} : { timeout: timeoutMs });
    const kv = await retryTransient(() =>
      new Kvm(js).create(name, { history: 1, replicas, allow_direct: false, ...opts }),
    );
    if ((await kv.status()).replicas !== replicas) {
      const jsm = await jetstreamManager(nc);
      const stream = `KV_${name}`;
      const { config } = await jsm.streams.info(stream);
      await jsm.streams.update(stream, { ...config, num_replicas: replicas });
    }
    return new JsonBucket<T>(kv, nc, name, replicas, timeoutMs);
  }

  async get(key: string): Promise<{ value: T; revision: number } | undefined> {
    const e = await retryTransient(() => this.kv.get(key));
    if (e === null || e.operation !== "PUT") return undefined;
    return { value: e.json<T>(), revision: e.revision };
  }

  /**
   * A compare-and-swap write that rides out leader elections. A write that timed out may
   * still have landed; when the retry then loses the race, the key is read back and, if it
   * holds exactly what we wrote, the write is ours and counts as done. Where the server does
   * not serialize such writes, the write is then confirmed (see CasConfirmation).
   */
  private async write(key: string, data: string, op: () => Promise<number>): Promise<number> {
    let ambiguous = false;
    const revision = await retryTransient(async () => {
      try {
        return await op();
      } catch (err) {
        if (isTransient(err)) {
          ambiguous = true;
        } else if (ambiguous && isRevisionConflict(err)) {
          const e = await this.kv.get(key);
          if (e !== null && e.operation === "PUT" && e.string() === data) return e.revision;
        }
        throw err;
      }
    });
    if (this.cas.needed && (await this.settled(key))?.revision !== revision) throw new WriteOverwrittenError(key);
    return revision;
  }

  private create(key: string, value: T): Promise<number> {
    const data = JSON.stringify(value);
    return this.write(key, data, () => this.kv.create(key, data));
  }

  private replace(key: string, value: T, revision: number): Promise<number> {
    const data = JSON.stringify(value);
    return this.write(key, data, () => this.kv.update(key, data, revision));
  }

  /** Writes unconditionally (last writer wins); repeating it is harmless, so it is retried. */
  async put(key: string, value: T): Promise<number> {
    const data = JSON.stringify(value);
    return retryTransient(() => this.kv.put(key, data));
  }

  /** Writes only if the key does not exist; returns false when it does. */
  async createIfAbsent(key: string, value: T): Promise<boolean> {
    try {
      await this.create(key, value);
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
        if (current === undefined) await this.create(key, next);
        else await this.replace(key, next, current.revision);
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
      return await this.create(key, value);
    } catch (err) {
      if (isRevisionConflict(err)) return undefined;
      throw err;
    }
  }

  /** Writes only if the key is still at `revision`; the new revision, or undefined on a lost race. */
  async tryUpdate(key: string, value: T, revision: number): Promise<number | undefined> {
    try {
      return await this.replace(key, value, revision);
    } catch (err) {
      if (isRevisionConflict(err)) return undefined;
      throw err;
    }
  }

  /** Deletes only if the key is still at `revision`; false on a lost race. */
  async tryDelete(key: string, revision: number): Promise<boolean> {
    if (!(await this.deleteAt(key, revision))) return false;
    if (!this.cas.needed) return true;
    // A racing update stored after the delete undid it (see CasConfirmation).
    const e = await this.settled(key);
    return e === null || e.operation !== "PUT";
  }

  /** The key's entry once every write proposed before the call is applied (see CasConfirmation). */
  private async settled(key: string) {
    await this.cas.barrier();
    return retryTransient(() => this.kv.get(key));
  }

  private async deleteAt(key: string, revision: number): Promise<boolean> {
    let ambiguous = false;
    try {
      await retryTransient(async () => {
        try {
          await this.kv.delete(key, { previousSeq: revision });
        } catch (err) {
          if (isTransient(err)) ambiguous = true;
          throw err;
        }
      });
      return true;
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
      // A delete that timed out and then landed leaves the key deleted right after `revision`.
      const e = ambiguous ? await this.kv.get(key) : null;
      return e !== null && e.operation !== "PUT" && e.revision === revision + 1;
    }
  }

  async delete(key: string): Promise<void> {
    await retryTransient(() => this.kv.delete(key));
  }

  /** Every live entry under a key filter, read fresh; for listings, not for hot paths. */
  async entries(filter = ">"): Promise<{ key: string; value: T }[]> {
    const keys = await this.keys(filter);
    const read = await Promise.all(keys.map(async (key) => ({ key, entry: await this.get(key) })));
    return read.flatMap(({ key, entry }) => (entry === undefined ? [] : [{ key, value: entry.value }]));
  }

  keys(filter = ">"): Promise<string[]> {
    return retryTransient(() => listKeys(this.nc, this.name, filter));
  }
}
