import { errors, type NatsConnection } from "@nats-io/transport-node";

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

/** The permission error the server answers a plain publish with; undefined when none comes. */
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
