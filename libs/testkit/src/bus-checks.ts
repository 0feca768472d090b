import { connect, credsAuthenticator, errors, type NatsConnection } from "@nats-io/transport-node";

/** Connects to `url` with issued `.creds` text and the inbox prefix that comes with them. */
export const connectWithCreds = (
  url: string,
  issued: { creds: string; inboxPrefix: string },
): Promise<NatsConnection> =>
  connect({
    servers: url,
    inboxPrefix: issued.inboxPrefix,
    authenticator: credsAuthenticator(new TextEncoder().encode(issued.creds)),
    maxReconnectAttempts: 0,
  });

/**
 * The error a subscription ends with: a refused one is closed with a permission error
 * before the server answers the flush that follows it; undefined for an allowed one.
 */
export const subscriptionEnd = async (nc: NatsConnection, subject: string): Promise<unknown> => {
  const sub = nc.subscribe(subject);
  await nc.flush();
  await new Promise((r) => setTimeout(r, 50));
  if (sub.isClosed()) return sub.closed;
  sub.unsubscribe();
  return undefined;
};

/** The permission error the server answers a plain publish with; undefined when none comes within 3 s. */
export const publishRefusal = async (nc: NatsConnection, subject: string, body = "{}"): Promise<unknown> => {
  const refused = (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof errors.PermissionViolationError && s.error.subject === subject) {
        return s.error;
      }
    }
    return undefined;
  })();
  nc.publish(subject, body);
  return Promise.race([refused, new Promise((r) => setTimeout(() => r(undefined), 3_000))]);
};

/** An HTTP call with a bearer token: its status and JSON body (undefined when empty). */
export const callApi = async (baseUrl: string, token: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as Record<string, unknown> };
};

/** A new account through the API as the admin, with its first token. */
export const createTenant = async (baseUrl: string, adminToken: string, name: string) => {
  const res = await callApi(baseUrl, adminToken, "POST", "/v1/accounts", { name });
  if (res.status !== 201) throw new Error(`account creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  const b = res.body as { account: { id: string }; token: { id: string; token: string } };
  return { accountId: b.account.id, token: b.token.token, tokenId: b.token.id };
};
