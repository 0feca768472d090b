import type { NatsConnection } from "@nats-io/transport-node";
import { bucket, JsonBucket, openBuckets } from "@sdn/bus";
import type { Host, HostState } from "@sdn/contracts";

/** Credentials as kept encrypted in a StoredHost. */
export interface Credentials {
  password?: string;
  privateKey?: string;
  passphrase?: string;
}

/** A host as kept in KV: the public resource, sealed credentials and how to check TLS. */
export interface StoredHost {
  host: Host;
  /** SecretBox.seal(JSON of Credentials, host id). */
  credentials: string;
  tlsCertificate?: string;
  tlsInsecure?: boolean;
}

const HOST = "host.";
const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");

const HOST_BUCKETS = {
  hosts: bucket<StoredHost>("sdn-hosts"),
  index: bucket<{ id: string }>("sdn-host-index"),
};

/**
 * The host registry in JetStream KV: `host.<id>` in bucket sdn-hosts, and unique-name and
 * unique-address claims (`name.<hex>`, `address.<hex>` → id) taken with create-if-absent,
 * so two concurrent AddHost commands cannot both register one host.
 */
export class HostStore {
  private constructor(
    readonly hosts: JsonBucket<StoredHost>,
    private readonly index: JsonBucket<{ id: string }>,
  ) {}

  static async open(nc: NatsConnection): Promise<HostStore> {
    const b = await openBuckets(nc, HOST_BUCKETS);
    return new HostStore(b.hosts, b.index);
  }

  async get(id: string): Promise<StoredHost | undefined> {
    return (await this.hosts.get(HOST + id))?.value;
  }

  async list(): Promise<StoredHost[]> {
    const out: StoredHost[] = [];
    for (const key of await this.hosts.keys(`${HOST}>`)) {
      const h = await this.hosts.get(key);
      if (h !== undefined) out.push(h.value);
    }
    return out.sort((a, b) => a.host.name.localeCompare(b.host.name));
  }

  /** The id holding a unique name or address, if any. */
  async holder(kind: "name" | "address", value: string): Promise<string | undefined> {
    return (await this.index.get(`${kind}.${hex(value)}`))?.value.id;
  }

  /** Claims a unique value for `id`; false when another host holds it. */
  async claim(kind: "name" | "address", value: string, id: string): Promise<boolean> {
    const key = `${kind}.${hex(value)}`;
    if (await this.index.createIfAbsent(key, { id })) return true;
    return (await this.index.get(key))?.value.id === id;
  }

  async unclaim(kind: "name" | "address", value: string, id: string): Promise<void> {
    const key = `${kind}.${hex(value)}`;
    if ((await this.index.get(key))?.value.id === id) await this.index.delete(key);
  }

  async create(stored: StoredHost): Promise<boolean> {
    return this.hosts.createIfAbsent(HOST + stored.host.id, stored);
  }

  async delete(id: string): Promise<void> {
    await this.hosts.delete(HOST + id);
  }

  /** Records a state change (compare-and-swap); undefined when the host is gone. */
  async setState(id: string, state: HostState): Promise<StoredHost | undefined> {
    return this.hosts.update(HOST + id, (cur) =>
      cur === undefined || cur.host.state === state
        ? undefined
        : { ...cur, host: { ...cur.host, state, stateChangedAt: new Date().toISOString() } },
    );
  }

  /** Follows every change: `put` for each host now and later, `gone` when one is deleted. */
  async watch(onPut: (s: StoredHost) => void, onGone: (id: string) => void): Promise<() => void> {
    const it = await this.hosts.kv.watch({ key: `${HOST}>` });
    void (async () => {
      for await (const e of it) {
        const id = e.key.slice(HOST.length);
        if (e.operation === "PUT") onPut(e.json<StoredHost>());
        else onGone(id);
      }
    })();
    return () => it.stop();
  }
}
