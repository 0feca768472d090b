import type { NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import type { BusCredentialIssuer } from "@sdn/bus-auth";
import { ADMIN_ACCOUNT_ID, type BusCredentialInfo, type IssuedBusCredential } from "@sdn/contracts";
import { randomBytes } from "node:crypto";

/**
 * External systems' bus credentials: issued by signing (nothing to tell the server),
 * recorded in KV without their seed, revoked by pushing the account's revocation list.
 * Key `a.<accountId>.<id>`.
 */
export class BusCredentialStore {
  private constructor(
    private readonly bucket: JsonBucket<BusCredentialInfo>,
    private readonly issuer: BusCredentialIssuer,
  ) {}

  static async open(nc: NatsConnection, issuer: BusCredentialIssuer): Promise<BusCredentialStore> {
    return new BusCredentialStore(await JsonBucket.open<BusCredentialInfo>(nc, "gw_bus_credentials"), issuer);
  }

  async create(accountId: string): Promise<IssuedBusCredential> {
    const id = `bc-${randomBytes(8).toString("hex")}`;
    const user = await this.issuer.issue(accountId, id);
    const info: BusCredentialInfo = {
      id,
      accountId,
      role: accountId === ADMIN_ACCOUNT_ID ? "admin" : "tenant",
      publicKey: user.publicKey,
      inboxPrefix: user.inboxPrefix,
      createdAt: new Date().toISOString(),
    };
    await this.bucket.createIfAbsent(`a.${accountId}.${id}`, info);
    return { ...info, creds: user.creds };
  }

  async list(accountId: string): Promise<BusCredentialInfo[]> {
    return (await this.bucket.entries(`a.${accountId}.*`)).map((e) => e.value);
  }

  /**
   * Marks the credential revoked and pushes every revoked credential to the server, which
   * then refuses it and cuts its connections. False when there is no such credential.
   * A failed push leaves it marked: the next revocation pushes it again.
   */
  async revoke(accountId: string, id: string): Promise<boolean> {
    const key = `a.${accountId}.${id}`;
    const current = await this.bucket.get(key);
    if (current === undefined || current.value.revokedAt !== undefined) return false;
    await this.bucket.update(key, (cur) =>
      cur === undefined ? undefined : { ...cur, revokedAt: new Date().toISOString() },
    );
    const revoked = (await this.bucket.entries("a.>")).flatMap(({ value }) =>
      value.revokedAt === undefined ? [] : [[value.publicKey, Math.ceil(Date.parse(value.revokedAt) / 1000)] as const],
    );
    await this.issuer.pushRevocations(Object.fromEntries(revoked));
    return true;
  }
}
