import {
  AGENT_TIER_COMMANDS,
  ALL_COMMANDS,
  ALL_EVENTS,
  AnyAnswer,
  HEADERS,
  answerSchema,
  eventEnvelopeSchema,
  type CommandDefinition,
  type EventDefinition,
} from "@sdn/contracts";
import type { TSchema } from "@sdn/typebox";

/**
 * Plain JSON Schema: TypeBox's symbols removed, every nested `$id` turned into a `title`
 * (an id repeated across payloads would clash; a title still names the type for code
 * generators), and the payload itself named by `$id` and `title` so that generators do not
 * invent `AnonymousSchema_N`.
 */
const plain = (schema: TSchema, name?: string): Record<string, unknown> => {
  const out = JSON.parse(JSON.stringify(schema), (_key, value: unknown) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const { $id, ...rest } = value as Record<string, unknown>;
    return typeof $id === "string" && rest["title"] === undefined ? { title: $id, ...rest } : rest;
  }) as Record<string, unknown>;
  if (name === undefined) return out;
  const { title: _nested, ...rest } = out;
  return { $id: name, title: name, ...rest };
};

/** Names several services share (CheckHealth, ServiceStarted) get their service's name in front. */
const sharedNames = (defs: readonly { name: string }[]) =>
  new Set(defs.map((d) => d.name).filter((n, i, all) => all.indexOf(n) !== i));
const sharedCommands = sharedNames(ALL_COMMANDS);
const sharedEvents = sharedNames(ALL_EVENTS);
const pascal = (s: string) => s.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
const typeName = (d: { name: string; service: string }, shared: ReadonlySet<string>) =>
  shared.has(d.name) ? `${pascal(d.service)}${d.name}` : d.name;

/** `host:port` of each NATS URL: never the user or password a URL may carry. */
const natsServers = (urls: string): Record<string, unknown> =>
  Object.fromEntries(
    urls
      .split(",")
      .map((u) => u.trim())
      .filter((u) => u !== "")
      .map((u, i) => {
        const url = new URL(u.includes("://") ? u : `nats://${u}`);
        return [
          i === 0 ? "nats" : `nats${i + 1}`,
          {
            host: `${url.hostname}:${url.port || "4222"}`,
            protocol: url.protocol.replace(/:$/, ""),
            security: [{ $ref: "#/components/securitySchemes/natsCredentials" }],
          },
        ];
      }),
  );

const commandHeaders = {
  type: "object",
  properties: {
    [HEADERS.commandId]: {
      type: "string",
      description: "Command id; answers carry it back. Resending an id is a no-op.",
    },
    [HEADERS.natsMsgId]: { type: "string", description: "Set to the command id on durable commands (JetStream dedup)" },
    [HEADERS.accountId]: {
      type: "string",
      description: "Account the command runs for; heeded only from the gateway, services and admin credentials",
    },
    [HEADERS.role]: {
      type: "string",
      enum: ["admin", "tenant"],
      description: "Ignored from bus credentials: the subject's origin decides (docs/bus-security.md)",
    },
    [HEADERS.traceparent]: { type: "string", description: "W3C trace context" },
  },
};

const ORIGIN_DESCRIPTION =
  "Who publishes, as the server's permissions enforce: `acct.<accountId>` (an account's bus credentials: runs as " +
  "that tenant, headers ignored), `admin` (admin bus credentials), or `api-gateway` / a service name (internal).";
const ACCOUNT_DESCRIPTION = "The account the command ran for, or `_sys` for none; a tenant may read only its own";

const id = (...parts: string[]) => parts.join("_").replace(/[^A-Za-z0-9_.-]/g, "_");

/**
 * The AsyncAPI 3 document of the bus, generated from libs/contracts: every command with
 * its subject, payload and answer, and every event. Another system can publish commands
 * from this alone.
 */
export const buildAsyncApi = (version: string, natsUrl = "nats://127.0.0.1:4222"): Record<string, unknown> => {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const ref = (kind: string, name: string) => ({ $ref: `#/${kind}/${name}` });

  const addCommand = (c: CommandDefinition) => {
    const base = id(c.service, c.name);
    messages[`${base}_command`] = {
      name: c.name,
      title: `${c.name} command`,
      summary: c.summary,
      headers: commandHeaders,
      payload: plain(c.request, `${typeName(c, sharedCommands)}Command`),
    };
    messages[`${base}_answer`] = {
      name: `${c.name}Answer`,
      title: `Answer to ${c.name}`,
      headers: {
        type: "object",
        properties: { [HEADERS.commandId]: { type: "string" }, [HEADERS.accountId]: { type: "string" } },
      },
      payload: plain(answerSchema(c.response), `${typeName(c, sharedCommands)}Answer`),
    };
    const tier = AGENT_TIER_COMMANDS.includes(c) ? "agent" : c.delivery;
    const durable = tier === "durable";
    channels[base] = {
      address: {
        durable: `sdn.cmd.${c.service}.{origin}.${c.name}`,
        request: `sdn.req.${c.service}.{origin}.${c.name}`,
        agent: `sdn.agent.{hostId}.${c.name}`,
      }[tier],
      title: `${c.service} ${c.name}`,
      description: {
        durable: "Durable command (JetStream stream SDN_COMMANDS); publish with Nats-Msg-Id = command id.",
        request:
          `Read on the request tier: a core NATS request, answered by one ${c.service} replica (queue group ` +
          `${c.service}) on the request's inbox; nothing is stored. The durable subject ` +
          `sdn.cmd.${c.service}.{origin}.${c.name} is also served (answer on sdn.ans).`,
        agent: "Request/reply command to one host's agent; the reply comes on the request's inbox.",
      }[tier],
      parameters:
        tier === "agent"
          ? { hostId: { description: "Host id from the host registry (only the services may call agents)" } }
          : { origin: { description: ORIGIN_DESCRIPTION } },
      messages: { command: ref("components/messages", `${base}_command`) },
    };
    channels[`${base}_answer`] = {
      address: durable ? `sdn.ans.{account}.${c.service}.{commandId}` : null,
      description: durable
        ? "Answer event (stream SDN_ANSWERS, one per command id); subscribe before publishing, or read it back by subject."
        : "The NATS reply inbox of the request (the client's inbox prefix).",
      ...(durable
        ? {
            parameters: {
              account: { description: ACCOUNT_DESCRIPTION },
              commandId: { description: "The command's id" },
            },
          }
        : {}),
      messages: { answer: ref("components/messages", `${base}_answer`) },
    };
    operations[`${base}_send`] = {
      action: "send",
      title: `Send ${c.name}`,
      summary: c.summary,
      channel: ref("channels", base),
      messages: [ref(`channels/${base}/messages`, "command")],
      reply: {
        channel: ref("channels", `${base}_answer`),
        messages: [ref(`channels/${base}_answer/messages`, "answer")],
      },
    };
  };

  const addEvent = (e: EventDefinition) => {
    const base = id("event", e.service, e.name);
    messages[base] = {
      name: e.name,
      title: e.name,
      summary: e.summary,
      payload: plain(eventEnvelopeSchema(e.data), `${typeName(e, sharedEvents)}Event`),
    };
    channels[base] = {
      address: `sdn.evt.{account}.${e.service}.${e.name}`,
      description: `${e.summary} (stream SDN_EVENTS)`,
      parameters: { account: { description: ACCOUNT_DESCRIPTION } },
      messages: { event: ref("components/messages", base) },
    };
    operations[`${base}_receive`] = {
      action: "receive",
      title: `Receive ${e.name}`,
      channel: ref("channels", base),
      messages: [ref(`channels/${base}/messages`, "event")],
    };
  };

  ALL_COMMANDS.forEach(addCommand);
  ALL_EVENTS.forEach(addEvent);

  return {
    asyncapi: "3.0.0",
    info: {
      title: "GRE SDN controller bus",
      version,
      description:
        "Commands, answers and events on NATS. Durable commands go to JetStream (stream SDN_COMMANDS) and are " +
        "answered on sdn.ans.<account>.<service>.<commandId>; reads are core request/reply on " +
        "sdn.req.<service>.<origin>.<Command>, and agent commands request/reply on sdn.agent.<hostId>.<Command>. " +
        "Every answer is " +
        "{ commandId, ok, details, data | error: { code, message } }. Every client authenticates; what it may " +
        "publish and read is fixed by its credentials (docs/bus-security.md).",
    },
    defaultContentType: "application/json",
    servers: natsServers(natsUrl),
    channels,
    operations,
    components: {
      messages,
      schemas: { Answer: plain(AnyAnswer, "Answer") },
      securitySchemes: {
        natsCredentials: {
          type: "asymmetricEncryption",
          description:
            "NATS decentralized authentication (operator/JWT mode): a .creds file holds a user JWT signed for the " +
            "SDN account and the user's nkey seed, with which the client signs the server's nonce. An admin gets " +
            "one bound to an account with POST /v1/accounts/{id}/bus-credentials (id `admin`: admin bus " +
            "credentials) and revokes it with DELETE. The server enforces the user's permissions: an account's " +
            "credentials publish only on sdn.cmd.<service>.acct.<accountId>.<Command> and " +
            "sdn.req.<service>.acct.<accountId>.<Command>, read only " +
            "sdn.ans.<accountId>.> and sdn.evt.<accountId>.>, and their replies arrive on the returned inboxPrefix. " +
            "TLS (a CA, or mutual TLS) can be added on the server.",
        },
      },
    },
  };
};
