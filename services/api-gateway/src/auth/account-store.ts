import type { NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import type { Account, QuotaOverrides } from "@sdn/contracts";
import { randomUUID } from "node:crypto";

/** Tenant accounts, owned by the gateway (identity is its concern). */
export class AccountStore {
  private constructor(private readonly bucket: JsonBucket<Account>) {}

  static async open(nc: NatsConnection): Promise<AccountStore> {
    return new AccountStore(await JsonBucket.open<Account>(nc, "gw_accounts"));
  }

  async create(name: string): Promise<Account> {
    const account: Account = { id: randomUUID(), name, createdAt: new Date().toISOString() };
    await this.bucket.createIfAbsent(account.id, account);
    return account;
  }

  async get(id: string): Promise<Account | undefined> {
    return (await this.bucket.get(id))?.value;
  }

  /** Merges an admin's quota values into the account's (compare-and-swap); undefined when it is gone. */
  async setQuotas(id: string, quotas: QuotaOverrides): Promise<Account | undefined> {
    return this.bucket.update(id, (a) => (a === undefined ? undefined : { ...a, quotas: { ...a.quotas, ...quotas } }));
  }

  async list(): Promise<Account[]> {
    return (await this.bucket.entries()).map((e) => e.value).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
