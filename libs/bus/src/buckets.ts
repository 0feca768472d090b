import type { KvOptions } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "./kv.js";

/** One KV bucket of a store: its name and options, typed by the documents it holds. */
export interface BucketSpec<T> {
  readonly name: string;
  readonly opts: Partial<KvOptions>;
  /** Carries T only (never set). */
  readonly holds?: T;
}

export const bucket = <T>(name: string, opts: Partial<KvOptions> = {}): BucketSpec<T> => ({ name, opts });

export type OpenBuckets<S> = { [K in keyof S]: S[K] extends BucketSpec<infer T> ? JsonBucket<T> : never };

/**
 * Opens every bucket of a store (creating or moving each to the deployment's replica count,
 * as JsonBucket.open does), all at once: a start waits for one round of creates, not one
 * per bucket.
 */
export const openBuckets = async <S extends Record<string, BucketSpec<unknown>>>(
  nc: NatsConnection,
  specs: S,
): Promise<OpenBuckets<S>> => {
  const opened = await Promise.all(
    Object.entries(specs).map(async ([key, s]) => [key, await JsonBucket.open(nc, s.name, s.opts)] as const),
  );
  return Object.fromEntries(opened) as OpenBuckets<S>;
};

/** The class `bucketStore` answers: a store's buckets as its fields, and `open`. */
export interface BucketStoreClass<S> {
  new (buckets: OpenBuckets<S>): Readonly<OpenBuckets<S>>;
  /** Opens every bucket (openBuckets) and answers the store, of the class it is called on. */
  open<T>(this: new (buckets: OpenBuckets<S>) => T, nc: NatsConnection): Promise<T>;
}

/**
 * The base of a service's store whose state is one KV bucket per kind of record: each
 * bucket of `specs` becomes a readonly field of the same name, so a store declares its
 * buckets once (in `specs`) and adds only its own queries:
 *
 *     export class VrStore extends bucketStore(VR_BUCKETS) { async allRouters() {…} }
 *     const store = await VrStore.open(nc); // store.routers: JsonBucket<RouterRecord>
 */
export const bucketStore = <S extends Record<string, BucketSpec<unknown>>>(specs: S): BucketStoreClass<S> =>
  class {
    constructor(buckets: OpenBuckets<S>) {
      Object.assign(this, buckets);
    }

    static async open<T>(this: new (buckets: OpenBuckets<S>) => T, nc: NatsConnection): Promise<T> {
      return new this(await openBuckets(nc, specs));
    }
  } as unknown as BucketStoreClass<S>;
