import type { Service, ServiceMsg } from "@nats-io/services";
import { HEADERS, parseCommandSubject, requestEndpointSubjects, type CommandServiceName } from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import { contextFromOrigin } from "./context.js";
import { failure, type BoundHandler } from "./dispatch.js";
import type { BusLogger } from "./logger.js";
import { answerRequest } from "./request-tier.js";

export interface RequestEndpointsOptions {
  service: CommandServiceName;
  /** The service's handlers; those of request-tier commands (`delivery: "request"`) are served. */
  handlers: readonly BoundHandler[];
  logger: BusLogger;
}

/** Request-tier endpoints in service; `idle` resolves when the requests in hand are answered. */
export interface RequestEndpoints {
  readonly commands: readonly string[];
  idle(): Promise<void>;
}

/**
 * Serves a service's side-effect-free commands on `sdn.req.<service>.<origin>.<Command>` as
 * NATS micro endpoints (in the service's queue group, so replicas share them and
 * `$SRV.STATS` counts each), two per command: one-token origins and `acct.<id>`. Identity
 * comes from the origin in the subject, as on the durable tier: the server lets an
 * account's credentials ask only as that account, so headers count only for principals.
 */
export const addRequestEndpoints = (svc: Service, opts: RequestEndpointsOptions): RequestEndpoints => {
  const served = opts.handlers.filter((h) => h.definition.delivery === "request");
  const inFlight = new Set<Promise<void>>();
  const group = svc.addGroup();
  for (const bound of served) {
    const name = bound.definition.name;
    const subjects = requestEndpointSubjects(opts.service, name);
    const metadata = { description: bound.definition.summary };
    const handler = (err: Error | null, m: ServiceMsg) => {
      if (err !== null) {
        opts.logger.warn({ err, command: name }, "request endpoint error");
        return;
      }
      const commandId = m.headers?.get(HEADERS.commandId) || randomUUID();
      const parsed = parseCommandSubject(opts.service, m.subject, "req");
      // Either endpoint's wildcard also matches subjects of no known origin: refused, never run.
      const handling =
        parsed === undefined || parsed.command !== name
          ? refuse(m, commandId)
          : answerRequest(m, bound, name, contextFromOrigin(parsed.origin, m.headers, commandId, 1), opts.logger, {
              "messaging.consumer.group.name": opts.service,
            });
      inFlight.add(handling);
      void handling.finally(() => inFlight.delete(handling));
    };
    group.addEndpoint(name, { subject: subjects.named, handler, metadata });
    group.addEndpoint(`${name}-acct`, { subject: subjects.account, handler, metadata });
  }
  return {
    commands: served.map((h) => h.definition.name),
    idle: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
};

const refuse = async (m: ServiceMsg, commandId: string): Promise<void> => {
  const answer = failure(commandId, {
    code: "INVALID_COMMAND",
    message: `${m.subject} is not a request subject: use sdn.req.<service>.<origin>.<Command>`,
  });
  m.respond(JSON.stringify(answer));
};
