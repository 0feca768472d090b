/**
 * Every NATS subject and stream name the system uses. Nothing else in the code base may
 * spell a subject by hand: integrators read this file (and the AsyncAPI document built
 * from it) to know where to publish and what to listen to.
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
} as const;

/** `sdn.cmd.<service>.<Command>`: durable tier, published to JetStream. */
export const commandSubject = (service: string, command: string): string => `sdn.cmd.${service}.${command}`;

/** All durable commands of one service, for its consumer's filter. */
export const commandFilter = (service: string): string => `sdn.cmd.${service}.>`;

/** `sdn.ans.<service>.<commandId>`: the answer event of one durable command. */
export const answerSubject = (service: string, commandId: string): string => `sdn.ans.${service}.${commandId}`;

/** `sdn.evt.<service>.<Event>`. */
export const eventSubject = (service: string, event: string): string => `sdn.evt.${service}.${event}`;

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
 * Tokens that may stand in a subject: no dots, wildcards or white space, so an id can
 * never widen a subscription or address another subject.
 */
export const SUBJECT_TOKEN_PATTERN = "^[A-Za-z0-9_-]{1,128}$";
const subjectToken = new RegExp(SUBJECT_TOKEN_PATTERN);
export const isSubjectToken = (value: string): boolean => subjectToken.test(value);
