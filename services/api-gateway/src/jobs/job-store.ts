import type { NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import type { Answer, ErrorBody, Job } from "@sdn/contracts";
import { createHash } from "node:crypto";

/** A job as stored: the public Job plus whom it belongs to and how to find its answer. */
export interface JobRecord extends Job {
  accountId: string;
  service: string;
  commandName: string;
  /** The HTTP status the call would have had if answered in time. */
  successStatus: number;
}

/** Async jobs of calls that outlived their wait time; the id is the command id. */
export class JobStore {
  private constructor(private readonly bucket: JsonBucket<JobRecord>) {}

  static async open(nc: NatsConnection): Promise<JobStore> {
    return new JobStore(await JsonBucket.open<JobRecord>(nc, "gw_jobs", { ttl: 7 * 24 * 3600 * 1000 }));
  }

  async createPending(r: Omit<JobRecord, "status" | "createdAt" | "command">): Promise<void> {
    await this.bucket.createIfAbsent(r.id, {
      ...r,
      command: `${r.service}.${r.commandName}`,
      status: "pending",
      createdAt: new Date().toISOString(),
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return (await this.bucket.get(id))?.value;
  }

  /** Records the answer once it is known, so the job outlives the answer stream's retention. */
  async complete(id: string, answer: Answer<unknown>): Promise<JobRecord | undefined> {
    return this.bucket.update(id, (cur) => {
      if (cur === undefined || cur.status !== "pending") return undefined;
      const completedAt = new Date().toISOString();
      return answer.ok
        ? { ...cur, status: "succeeded", completedAt, result: answer.data }
        : { ...cur, status: "failed", completedAt, error: answer.error satisfies ErrorBody };
    });
  }
}

/** What a client's Idempotency-Key is bound to. */
export interface IdempotencyRecord {
  commandId: string;
  requestHash: string;
  createdAt: string;
}

/**
 * Idempotency keys per account. The first request creates the record atomically (KV
 * create); any retry finds it and reuses its command id, so the command runs once.
 */
export class IdempotencyStore {
  private constructor(private readonly bucket: JsonBucket<IdempotencyRecord>) {}

  static async open(nc: NatsConnection): Promise<IdempotencyStore> {
    return new IdempotencyStore(
      await JsonBucket.open<IdempotencyRecord>(nc, "gw_idempotency", { ttl: 24 * 3600 * 1000 }),
    );
  }

  /**
   * Returns the record that holds the account's key: ours if we were first, the earlier one
   * otherwise.
   */
  async claim(accountId: string, key: string, candidate: IdempotencyRecord): Promise<IdempotencyRecord> {
    const stored = storedKey(accountId, key);
    if (await this.bucket.createIfAbsent(stored, candidate)) return candidate;
    const existing = await this.bucket.get(stored);
    // Deleted between our create and get (expiry): ours is as good as any.
    return existing?.value ?? candidate;
  }

  /** Whether a request of the account already used the key (a retry, which runs nothing new). */
  async used(accountId: string, key: string): Promise<boolean> {
    return (await this.bucket.get(storedKey(accountId, key))) !== undefined;
  }
}

/** Keys are per account, and hashed: a client's key may hold any printable text. */
const storedKey = (accountId: string, key: string) => createHash("sha256").update(`${accountId}\n${key}`).digest("hex");
