import {
  agentSubject,
  answerFilter,
  auditPublishSubject,
  BUS_CREDENTIAL_INBOXES,
  commandConsumerName,
  commandFilter,
  commandSubject,
  COMMAND_SERVICES,
  eventFilter,
  inboxPrefix,
  requestEndpointSubjects,
  requestSubject,
  serviceEndpointGroup,
  STREAMS,
  type CommandOrigin,
  type CommandServiceName,
  type ServiceName,
} from "@sdn/contracts";

/**
 * What each bus principal may publish and subscribe to, enforced by the NATS server (the
 * lists go into each user's JWT). Allow lists only: anything not listed is refused, so
 * `_INBOX.>` and `sdn.agent.>` are closed to everyone not named here.
 */
export interface BusPermissions {
  pub: string[];
  sub: string[];
}

/**
 * Whose request replies a service may publish: the gateway's and the admin's (health,
 * `$SRV` discovery) and, for the agent, its callers'. Named inboxes instead of NATS's
 * `allow_responses`: that option makes the server remember every message with a reply
 * subject a client receives (each JetStream delivery) and rescan the list past 4096
 * entries, which halved a loaded guru's throughput here.
 */
const REPLY_TO: Record<ServiceName, readonly string[]> = {
  "api-gateway": ["admin"],
  // The element and the vr-manager read networks and NICs on the request tier.
  "network-guru": ["api-gateway", "admin", "ovs-element", "vr-manager"],
  "ovs-element": ["api-gateway", "admin", "vr-manager"],
  "vr-manager": ["api-gateway", "admin"],
  "hypervisor-agent": ["api-gateway", "admin", "ovs-element", "vr-manager"],
};

/**
 * The KV buckets each service opens. NATS permissions cannot wildcard part of a token, so
 * a new bucket must be added here, or the service is refused access to it.
 */
export const SERVICE_BUCKETS: Record<ServiceName, readonly string[]> = {
  "api-gateway": ["gw_jobs", "gw_idempotency", "gw_accounts", "gw_tokens", "gw_bus_credentials", "gw_quota_locks"],
  "network-guru": [
    "sdn_guru_networks",
    "sdn_guru_gre_keys",
    "sdn_guru_vnis",
    "sdn_guru_nics",
    "sdn_guru_addresses",
    "sdn_guru_address_blocks",
    "sdn_guru_public_ranges",
    "sdn_guru_public_ips",
    "sdn_guru_source_nat",
    "sdn_guru_public_ip_commands",
  ],
  "ovs-element": [
    "sdn_element_memberships",
    "sdn_element_nics",
    "sdn_element_tunnels",
    "sdn_element_claims",
    "sdn_element_vm_owners",
    "sdn_element_tunnel_health",
  ],
  "vr-manager": [
    "sdn_vr_routers",
    "sdn_vr_network_routers",
    "sdn_vr_rules",
    "sdn_vr_routes",
    "sdn_vr_locks",
    "sdn_vr_identity",
  ],
  // The agent alone writes its sealing key: whoever could would read credentials sealed to it.
  "hypervisor-agent": ["sdn-host-leases", "sdn-hosts", "sdn-host-index", "sdn-sealing-keys"],
};

/**
 * Durable commands a service sends to another (with `*`: any command of that service).
 * The agent's registry is read only: the element may ask GetHost, nothing that changes a host.
 */
const OUTGOING_COMMANDS: Partial<Record<ServiceName, readonly (readonly [CommandServiceName, string])[]>> = {
  "ovs-element": [
    ["network-guru", "*"],
    ["hypervisor-agent", "GetHost"],
  ],
  "vr-manager": [
    ["network-guru", "*"],
    ["ovs-element", "*"],
  ],
};

/** Agent commands (request/reply) a service may call: the element drives hosts, the vr-manager only relays to routers. */
const AGENT_CALLS: Partial<Record<ServiceName, string>> = {
  "ovs-element": agentSubject("*", "*"),
  "vr-manager": agentSubject("*", "RelayToRouter"),
};

const API = "$JS.API";
const SDN_STREAMS = [STREAMS.commands.name, STREAMS.answers.name, STREAMS.events.name, STREAMS.audit.name];

/** Create, read and use one KV bucket (its stream `KV_<bucket>`). */
export const bucketAccess = (bucket: string): string[] => {
  const stream = `KV_${bucket}`;
  return [
    `${API}.STREAM.*.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `${API}.CONSUMER.*.${stream}`,
    `${API}.CONSUMER.*.${stream}.>`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `$KV.${bucket}.>`,
    `$JS.ACK.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
};

/** Reading the agent's public sealing key (the gateway seals AddHost credentials, the guru IPsec keys, to it). */
const readSealingKey = (): string[] => {
  const stream = "KV_sdn-sealing-keys";
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
  ];
};

/** Creating and updating the SDN streams (every service ensures them at start) and reading stored answers. */
const streamUpkeep = (): string[] => [
  `${API}.INFO`,
  ...SDN_STREAMS.flatMap((s) => [`${API}.STREAM.INFO.${s}`, `${API}.STREAM.CREATE.${s}`, `${API}.STREAM.UPDATE.${s}`]),
  ...readStoredAnswers(),
];

const readStoredAnswers = (): string[] => [
  `${API}.STREAM.MSG.GET.${STREAMS.answers.name}`,
  `${API}.DIRECT.GET.${STREAMS.answers.name}`,
  `${API}.DIRECT.GET.${STREAMS.answers.name}.>`,
];

/**
 * Reading the audit trail, for the gateway's GET /v1/audit: single messages by sequence
 * (no consumer, no delivery subject), so nothing of it is ever pushed to anyone else.
 */
const readAudit = (): string[] => [`${API}.STREAM.MSG.GET.${STREAMS.audit.name}`];

/**
 * A command service's own durable consumer, and nothing else on the command stream: the
 * create subject carries the filter (NATS 2.9's API), so the consumer can only be made to
 * read this service's commands.
 */
const ownConsumer = (service: CommandServiceName): { pub: string[]; sub: string[] } => {
  const stream = STREAMS.commands.name;
  const durable = commandConsumerName(service);
  return {
    pub: [
      `${API}.CONSUMER.CREATE.${stream}.${durable}.${commandFilter(service)}`,
      // A command JetStream gave up on is read back to answer it MAX_DELIVERIES_EXCEEDED.
      `${API}.STREAM.MSG.GET.${stream}`,
      `${API}.CONSUMER.INFO.${stream}.${durable}`,
      `${API}.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      `$JS.ACK.${stream}.${durable}.>`,
      // Answers to its commands, filed under any account.
      `sdn.ans.*.${service}.*`,
      // Audit records of the commands it consumes, under its own name only.
      auditPublishSubject(service),
    ],
    sub: [`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${durable}`],
  };
};

const isCommandService = (s: ServiceName): s is CommandServiceName =>
  (COMMAND_SERVICES as readonly string[]).includes(s);

/**
 * A command service's request-tier endpoints: every origin's requests to it, and nothing
 * of another service. Replies go to its callers' inboxes (REPLY_TO) and to bus credentials'
 * (`_INBOX.creds.>`), whose holders may ask their own reads.
 */
const ownRequests = (service: CommandServiceName): { pub: string[]; sub: string[] } => {
  const { named, account } = requestEndpointSubjects(service, "*");
  return { pub: [BUS_CREDENTIAL_INBOXES], sub: [named, account] };
};

/** The durable and request-tier subjects a principal may send `command` of `target` on. */
const sendSubjects = (target: string, command: string, origin: CommandOrigin): string[] => [
  commandSubject(target, command, origin),
  requestSubject(target, command, origin),
];

/** One service's permissions: its consumer, buckets, events, the commands and agent calls it makes. */
export const servicePermissions = (service: ServiceName): BusPermissions => {
  const consumer = isCommandService(service) ? ownConsumer(service) : { pub: [], sub: [] };
  const requests = isCommandService(service) ? ownRequests(service) : { pub: [], sub: [] };
  const self: CommandOrigin = { kind: "principal", name: service };
  const outgoing =
    service === "api-gateway"
      ? sendSubjects("*", ">", self)
      : (OUTGOING_COMMANDS[service] ?? []).flatMap(([target, command]) => sendSubjects(target, command, self));
  const agent = AGENT_CALLS[service];
  return {
    pub: [
      ...streamUpkeep(),
      ...SERVICE_BUCKETS[service].flatMap(bucketAccess),
      // The gateway reads the trail, and records its own changes in it under its name only.
      ...(service === "api-gateway" ? [...readSealingKey(), ...readAudit(), auditPublishSubject(service)] : []),
      // The guru seals each encrypted network's IPsec key to the agents' public key.
      ...(service === "network-guru" ? readSealingKey() : []),
      ...consumer.pub,
      ...requests.pub,
      ...outgoing,
      ...(agent === undefined ? [] : [agent]),
      eventFilter({ service }),
      // NATS services framework: discovery and health of the other services.
      "$SRV.>",
      `${serviceEndpointGroup("*")}.*`,
      ...REPLY_TO[service].map((p) => `${inboxPrefix(p)}.>`),
      // Its own inbox: the image's health check connects as the service and asks this
      // process for its STATS over $SRV (docker/healthcheck.mjs); only the service reads there.
      `${inboxPrefix(service)}.>`,
    ],
    sub: [
      `${inboxPrefix(service)}.>`,
      ...consumer.sub,
      ...requests.sub,
      answerFilter(),
      eventFilter(),
      "$SRV.>",
      `${serviceEndpointGroup(service)}.*`,
      ...(service === "hypervisor-agent" ? [agentSubject("*", "*")] : []),
    ],
  };
};

/** Admin bus credentials: any service's commands (both tiers) as admin, every answer and event; no agent, no KV. */
export const adminPermissions = (inbox: string): BusPermissions => ({
  pub: [...sendSubjects("*", ">", { kind: "admin" }), `${API}.INFO`, ...readStoredAnswers()],
  sub: [`${inboxPrefix(inbox)}.>`, answerFilter(), eventFilter()],
});

/**
 * State credentials (`state.creds`, for `sdnctl admin backup|restore`): every service's
 * buckets, listing and emptying them, and pinging services (a restore refuses while one
 * runs). No commands, no agents, no answers or events.
 */
export const statePermissions = (inbox: string): BusPermissions => ({
  pub: [
    `${API}.INFO`,
    `${API}.STREAM.NAMES`,
    `${API}.STREAM.LIST`,
    ...Object.values(SERVICE_BUCKETS)
      .flat()
      .flatMap((bucket) => [...bucketAccess(bucket), `${API}.STREAM.PURGE.KV_${bucket}`]),
    "$SRV.PING.>",
  ],
  sub: [`${inboxPrefix(inbox)}.>`],
});

/** An account's tenant bus credentials: commands (both tiers) into its own namespace, its own answers and events only. */
export const tenantPermissions = (accountId: string, inbox: string): BusPermissions => ({
  pub: sendSubjects("*", ">", { kind: "account", accountId }),
  sub: [`${inboxPrefix(inbox)}.>`, answerFilter(accountId), eventFilter({ accountId })],
});
