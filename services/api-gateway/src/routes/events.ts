import type { Msg, Subscription } from "@nats-io/transport-node";
import { HEADERS, STREAMS } from "@sdn/contracts";
import type { FastifyRequest } from "fastify";
import type { GatewayApp } from "../app.js";
import { principalOf } from "../auth/authenticate.js";
import { HttpError } from "../http-errors.js";
import { errorResponses } from "../schemas.js";

/** Open event streams per gateway replica; each holds a socket and two subscriptions. */
const MAX_STREAMS = 500;
const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/events`: server-sent events of the caller's account, live: domain events
 * (`event: <Type>`) and answers to its commands (`event: answer`), so a client can follow a
 * job without polling. Admins see every account's.
 */
export const eventRoutes = async (app: GatewayApp): Promise<void> => {
  let open = 0;
  app.get(
    "/v1/events",
    {
      schema: {
        tags: ["Events"],
        summary: "Stream the account's events and command answers (text/event-stream)",
        operationId: "streamEvents",
        // The stream is text/event-stream; its errors are the JSON error model like every route's.
        response: {
          200: {
            description: "Server-sent events: `event: <Type>`, `id: <eventId>`, `data: <JSON>`",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...errorResponses(401, 429, 503),
        },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      if (open >= MAX_STREAMS)
        throw new HttpError("UNAVAILABLE", "too many event streams are open on this gateway; retry later");
      open++;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      res.write(": connected\n\n");
      const visible = (accountId: string | undefined) =>
        principal.role === "admin" || accountId === principal.accountId;
      const send = (event: string, id: string | undefined, data: string) => {
        res.write(`event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}data: ${data}\n\n`);
      };
      const onEvent = (m: Msg) => {
        const envelope = safeJson(m) as { type?: string; eventId?: string; accountId?: string } | undefined;
        if (envelope?.type === undefined || !visible(envelope.accountId)) return;
        send(envelope.type, envelope.eventId, JSON.stringify(envelope));
      };
      const onAnswer = (m: Msg) => {
        if (!visible(m.headers?.get(HEADERS.accountId))) return;
        const answer = safeJson(m) as { commandId?: string } | undefined;
        if (answer?.commandId !== undefined) send("answer", answer.commandId, JSON.stringify(answer));
      };
      const subs: Subscription[] = [
        app.bus.nc.subscribe(STREAMS.events.subjects[0], { callback: (_e, m) => onEvent(m) }),
        app.bus.nc.subscribe(STREAMS.answers.subjects[0], { callback: (_e, m) => onAnswer(m) }),
      ];
      const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
      const close = () => {
        clearInterval(heartbeat);
        for (const s of subs) s.unsubscribe();
        open--;
      };
      closeOnce(req, close);
    },
  );
};

const safeJson = (m: Msg): unknown => {
  try {
    return m.json();
  } catch {
    return undefined;
  }
};

const closeOnce = (req: FastifyRequest, fn: () => void) => {
  let done = false;
  const once = () => {
    if (!done) {
      done = true;
      fn();
    }
  };
  req.raw.once("close", once);
  req.raw.socket.once("close", once);
};
