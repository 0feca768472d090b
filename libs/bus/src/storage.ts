import type { NatsConnection } from "@nats-io/transport-node";

/**
 * How this deployment stores streams and KV buckets. Set once per connection by the service
 * host (from SDN_NATS_REPLICAS) and read wherever a stream or bucket is created or opened, so
 * that every store follows it without each service passing it along.
 */
export interface StorageSettings {
  /** Copies of every stream and bucket: 1 on one server, 3 on a cluster (at most 5). */
  readonly replicas: number;
}

const DEFAULT: StorageSettings = { replicas: 1 };
const byConnection = new WeakMap<NatsConnection, StorageSettings>();

export const useStorage = (nc: NatsConnection, settings: StorageSettings): void => {
  byConnection.set(nc, settings);
};

export const storageOf = (nc: NatsConnection): StorageSettings => byConnection.get(nc) ?? DEFAULT;
