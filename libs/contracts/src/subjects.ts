/**
 * Every NATS subject and stream name the system uses. Nothing else in the code base may
 * spell a subject by hand: integrators read this file (and the AsyncAPI document built
 * from it) to know where to publish and what to listen to.
 *
 * Identity lives in the subject, not in headers: the NATS server lets each credential
 * publish only into its own namespace (see docs/bus-security.md), so a service reads who
 * sent a command from where it arrived.
 * - `sdn.cmd.<service>.<origin>.<Command>`: origin `api-gateway` or another service (a
 *   trusted principal: its `Sdn-Role` / `Sdn-Account-Id` headers hold), `admin` (admin bus
 *   credentials: role admin, account from the header), or `acct.<accountId>` (an external
 *   system's tenant credentials: that account, role tenant, headers ignored).
 * - `sdn.req.<service>.<origin>.<Command>`: the same origins on the request tier (reads).
 * - `sdn.ans.<scope>.<service>.<commandId>` and `sdn.evt.<scope>.<service>.<Event>`: scope is
 *   the account the command ran for (or `_sys`), so a tenant may read `sdn.*.<its id>.>` only.
 */

export const SERVICE_NAMES = ["api-gateway", "network-guru", "ovs-element", "vr-manager", "hypervisor-agent"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Services that consume durable commands (the gateway only sends them). */
export const COMMAND_SERVICES = [
  "network-guru",
  "ovs-element",
  "vr-manager",
  "hypervisor-agent",
] as const satisfies readonly ServiceName[];
export type CommandServiceName = (typeof COMMAND_SERVICES)[number];

export const STREAMS = {
  /** Durable commands from outside: survive restarts, shared by replicas, deduplicated. */
  commands: { name: "SDN_COMMANDS", subjects: ["sdn.cmd.>"] },
  /** One answer per command, kept so a sender that missed it (or a job poll) can read it. */
  answers: { name: "SDN_ANSWERS", subjects: ["sdn.ans.>"] },
  /** Domain events for other systems and for audit. */
  events: { name: "SDN_EVENTS", subjects: ["sdn.evt.>"] },
  /** Who changed what, when, with what outcome (docs/audit.md); read by the gateway only. */
  audit: { name: "SDN_AUDIT", subjects: ["sdn.audit.>"] },
} as const;

/**
 * Who published a command, as the subject says (and the server's permissions guarantee):
 * a trusted principal (the gateway or a service, which vouches for its headers), holders
 * of admin bus credentials, or holders of one account's tenant bus credentials.
 */
export type CommandOrigin =
  | { readonly kind: "principal"; readonly name: ServiceName }
  | { readonly kind: "admin" }
  | { readonly kind: "account"; readonly accountId: string };

/** The origin token(s) of a command subject. */
export const originTokens = (origin: CommandOrigin): string =>
  origin.kind === "principal" ? origin.name : origin.kind === "admin" ? "admin" : `acct.${origin.accountId}`;

/** `sdn.cmd.<service>.<origin>.<Command>`: durable tier, published to JetStream. */
export const commandSubject = (service: string, command: string, origin: CommandOrigin): string =>
  `sdn.cmd.${service}.${originTokens(origin)}.${command}`;

/** All durable commands of one service, for its consumer's filter (one filter: NATS 2.9). */
export const commandFilter = (service: string): string => `sdn.cmd.${service}.>`;

/**
 * `sdn.req.<service>.<origin>.<Command>`: request tier (core NATS request/reply, a queue
 * group per service) for side-effect-free commands. Same origin tokens, so the same
 * permissions say who may ask as whom.
 */
export const requestSubject = (service: string, command: string, origin: CommandOrigin): string =>
  `sdn.req.${service}.${originTokens(origin)}.${command}`;

/**
 * What one request-tier command of `service` listens on: one-token origins (a principal,
 * `admin`) and account origins (`acct.<id>`). A subscription cannot mix the two shapes.
 */
export const requestEndpointSubjects = (service: string, command: string): { named: string; account: string } => ({
  named: `sdn.req.${service}.*.${command}`,
  account: `sdn.req.${service}.acct.*.${command}`,
});

/**
 * Splits a command subject of `service` (durable `sdn.cmd.` or request tier `sdn.req.`)
 * into its origin and command name; undefined when it is not shaped as `commandSubject` or
 * `requestSubject` builds it (unknown origin, wrong token count).
 */
export const parseCommandSubject = (
  service: string,
  subject: string,
  tier: "cmd" | "req" = "cmd",
): { origin: CommandOrigin; command: string } | undefined => {
  const prefix = `sdn.${tier}.${service}.`;
  if (!subject.startsWith(prefix)) return undefined;
  const t = subject.slice(prefix.length).split(".");
  if (t.length === 3 && t[0] === "acct" && isSubjectToken(t[1] ?? "")) {
    return { origin: { kind: "account", accountId: t[1] as string }, command: t[2] as string };
  }
  if (t.length !== 2) return undefined;
  const [who, command] = t as [string, string];
  if (who === "admin") return { origin: { kind: "admin" }, command };
  if ((SERVICE_NAMES as readonly string[]).includes(who)) {
    return { origin: { kind: "principal", name: who as ServiceName }, command };
  }
  return undefined;
};

/** The scope token of answers and events that belong to no account. */
export const SYSTEM_SCOPE = "_sys";

/**
 * The account's token in answer and event subjects. An id that cannot stand in a subject
 * (bus credentials are never issued for one) is filed under the system scope, which no
 * tenant can read.
 */
export const accountScope = (accountId: string | undefined): string =>
  accountId !== undefined && isSubjectToken(accountId) && !accountId.startsWith("_") ? accountId : SYSTEM_SCOPE;

/** `sdn.ans.<scope>.<service>.<commandId>`: the answer event of one durable command. */
export const answerSubject = (service: string, commandId: string, accountId: string | undefined): string =>
  `sdn.ans.${accountScope(accountId)}.${service}.${commandId}`;

/** Answers of one account (or of every account, `*`). */
export const answerFilter = (accountId?: string): string =>
  `sdn.ans.${accountId === undefined ? "*" : accountScope(accountId)}.>`;

/** `sdn.evt.<scope>.<service>.<Event>`. */
export const eventSubject = (service: string, event: string, accountId: string | undefined): string =>
  `sdn.evt.${accountScope(accountId)}.${service}.${event}`;

/** Events of every account (or one), optionally of one service and event name. */
export const eventFilter = (opts: { accountId?: string; service?: string; event?: string } = {}): string =>
  `sdn.evt.${opts.accountId === undefined ? "*" : accountScope(opts.accountId)}.${opts.service ?? "*"}.${opts.event ?? "*"}`;

/** `sdn.agent.<hostId>.<Command>`: request/reply tier to a hypervisor agent. */
export const agentSubject = (hostId: string, command: string): string => `sdn.agent.${hostId}.${command}`;

/** `sdn.svc.<service>`: request/reply endpoints registered with the NATS services framework. */
export const serviceEndpointGroup = (service: string): string => `sdn.svc.${service}`;

/** Durable consumer name of a service on the command stream. */
export const commandConsumerName = (service: string): string => `cmd-${service}`;

/** JetStream's advisory that a command reached its consumer's maximum deliveries (answered as failed). */
export const maxDeliveriesAdvisorySubject = (service: string): string =>
  `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${STREAMS.commands.name}.${commandConsumerName(service)}`;

/**
 * Where a client's request replies arrive: `_INBOX.<principal>`. The server lets each
 * credential subscribe under its own prefix only, so no one reads another's replies.
 */
export const inboxPrefix = (principal: string): string => `_INBOX.${principal}`;

/**
 * Who bus credentials issued to an account or an admin read replies as: inbox
 * `_INBOX.creds.<credential id>`, under one root so services may answer their request-tier
 * reads (`BUS_CREDENTIAL_INBOXES`) without being able to answer in a service's place.
 */
export const busCredentialPrincipal = (credentialId: string): string => `creds.${credentialId}`;
export const BUS_CREDENTIAL_INBOXES = `${inboxPrefix("creds")}.>`;

/**
 * Tokens that may stand in a subject: no dots, wildcards or white space, so an id can
 * never widen a subscription or address another subject.
 */
export const SUBJECT_TOKEN_PATTERN = "^[A-Za-z0-9_-]{1,128}$";
const subjectToken = new RegExp(SUBJECT_TOKEN_PATTERN);
export const isSubjectToken = (value: string): boolean => subjectToken.test(value);
