import { connect, credsAuthenticator, type ConnectionOptions } from "@nats-io/transport-node";
import { fromSeed } from "@nats-io/jwt";
import { ADMIN_ACCOUNT_ID, busCredentialPrincipal, inboxPrefix } from "@sdn/contracts";
import { adminPermissions, tenantPermissions } from "./permissions.js";
import { signAppAccount, userCreds, type IssuerKeys } from "./trust.js";

export class ClaimsUpdateError extends Error {
  override readonly name = "ClaimsUpdateError";
}

/** A credential as handed out once: the `.creds` text and how to use it. */
export interface IssuedBusUser {
  creds: string;
  publicKey: string;
  /** The inbox prefix the client must set (`inboxPrefix`): its credentials read replies only there. */
  inboxPrefix: string;
}

/**
 * Issues and revokes bus credentials at run time, without touching the server's
 * configuration: a user is a JWT signed with the app account's signing key (the server
 * checks the signature, it stores nothing), and a revocation is a new app account JWT
 * with the user in its revocation list, pushed to the server's full resolver on
 * `$SYS.REQ.CLAIMS.UPDATE`. The server then refuses the user and cuts its live connections.
 */
export class BusCredentialIssuer {
  constructor(
    private readonly keys: IssuerKeys,
    /** How to reach the server (URLs and TLS) for the claims update; the system user's creds are added. */
    private readonly server: Partial<ConnectionOptions>,
  ) {}

  /** Credentials bound to one account (tenant), or admin bus credentials for the admin account. */
  issue(accountId: string, credentialId: string): Promise<IssuedBusUser> {
    const inbox = busCredentialPrincipal(credentialId);
    const perms = accountId === ADMIN_ACCOUNT_ID ? adminPermissions(inbox) : tenantPermissions(accountId, inbox);
    return userCreds(`${accountId}/${credentialId}`, this.keys.appAccount, this.keys.appSigningSeed, perms).then(
      (u) => ({ ...u, inboxPrefix: inboxPrefix(inbox) }),
    );
  }

  /**
   * Publishes the app account with this whole revocation list (user public key → unix
   * seconds; a user JWT issued at or before that time is refused).
   */
  async pushRevocations(revocations: Record<string, number>): Promise<void> {
    const jwt = await signAppAccount(
      this.keys.appAccount,
      this.keys.operatorSigningSeed,
      this.appSigningKey(),
      revocations,
    );
    const nc = await connect({
      ...this.server,
      name: "gateway-claims",
      inboxPrefix: "_INBOX.gateway-claims",
      authenticator: credsAuthenticator(new TextEncoder().encode(this.keys.systemUserCreds)),
      maxReconnectAttempts: 0,
    });
    try {
      const reply = await nc.request("$SYS.REQ.CLAIMS.UPDATE", jwt, { timeout: 5_000 });
      const body = reply.json<{ data?: { code?: number; message?: string }; error?: { description?: string } }>();
      if (body.error !== undefined || (body.data?.code ?? 200) >= 300) {
        throw new ClaimsUpdateError(
          `the NATS server refused the account update: ${body.error?.description ?? body.data?.message ?? "no reason"}`,
        );
      }
    } finally {
      await nc.close();
    }
  }

  private appSigningKey(): string {
    return fromSeed(new TextEncoder().encode(this.keys.appSigningSeed)).getPublicKey();
  }
}
