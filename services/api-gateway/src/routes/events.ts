import type { Msg, Subscription } from "@nats-io/transport-node";
import { answerFilter, eventFilter, HEADERS } from "@sdn/contracts";
import type { FastifyRequest } from "fastify";
import type { ServerResponse } from "node:http";
import type { GatewayApp } from "../app.js";
import { principalOf } from "../auth/authenticate.js";
import { SseWriter } from "../limits/sse-writer.js";
import { errorResponses } from "../schemas.js";

const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/events`: server-sent events of the caller's account, live: domain events
 * (`event: <Type>`) and answers to its commands (`event: answer`), so a client can follow a
 * job without polling. Admins see every account's. Streams are capped per account, a reader
 * too slow to keep up is cut, and revoking the token ends its streams (see limits/).
 */
export const eventRoutes = async (app: GatewayApp): Promise<void> => {
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
      const res = reply.raw;
      const gone = app.eventStreams.admit(principal, (reason) => {
        writer.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
        res.end();
      });
      const writer = new SseWriter(res, app.eventStreams.limits.bufferBytes, () => {
        req.log.info({ tokenId: principal.tokenId }, "event stream cut: the reader fell too far behind");
        res.destroy();
      });
      reply.hijack();
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      writer.write(": connected\n\n");
      const visible = (accountId: string | undefined) =>
        principal.role === "admin" || accountId === principal.accountId;
      const send = (event: string, id: string | undefined, data: string) => {
        writer.write(`event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}data: ${data}\n\n`);
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
      // The filters the gateway's bus credentials allow (a wider subject is a permissions
      // violation on a secured bus, and the stream would stay silent); a tenant's narrowed to
      // its account's scope so the server does the filtering, `visible` checks again.
      const account = principal.role === "admin" ? undefined : principal.accountId;
      const subs: Subscription[] = [
        app.bus.nc.subscribe(eventFilter(account === undefined ? {} : { accountId: account }), {
          callback: (_e, m) => onEvent(m),
        }),
        app.bus.nc.subscribe(answerFilter(account), { callback: (_e, m) => onAnswer(m) }),
      ];
      const heartbeat = setInterval(() => writer.write(": keep-alive\n\n"), HEARTBEAT_MS);
      const close = () => {
        clearInterval(heartbeat);
        for (const s of subs) s.unsubscribe();
        gone();
      };
      closeOnce(req, res, close);
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

const closeOnce = (req: FastifyRequest, res: ServerResponse, fn: () => void) => {
  let done = false;
  const once = () => {
    if (!done) {
      done = true;
      fn();
    }
  };
  req.raw.once("close", once);
  req.raw.socket.once("close", once);
  // Ended by the gateway (token revoked): the connection may stay open for keep-alive.
  res.once("close", once);
  res.once("finish", once);
};
