import type { NatsConnection } from "@nats-io/transport-node";
import { BusError, MalformedMessageError, NoResponderError, request, Semaphore, unwrapAnswer } from "@sdn/bus";
import {
  agentSubject,
  hostErrorOf,
  InfrastructureError,
  type CommandError,
  type CommandDefinition,
  type RequestOf,
  type ResponseOf,
} from "@sdn/contracts";

/** Agent commands in flight per host: a host runs them in sequence anyway (one OVSDB, few SSH channels). */
const PER_HOST = 4;

/**
 * An agent command that failed: keeps the agent's code, names the host and the command.
 * What the agent said can name host internals, so tenants see only the step and the code.
 */
export class AgentCallError extends InfrastructureError {
  constructor(
    readonly hostId: string,
    readonly command: string,
    code: CommandError["code"],
    message: string,
    details?: unknown,
  ) {
    super(code, `${command} on host ${hostId}: ${message}`, tenantMessageOf(hostId, command, code, details), details);
  }
}

/**
 * What a tenant reads of an agent's refusal: the step and the code, and for an encrypted
 * network's refusal its reason (a tenant's to act on: that host cannot carry the network),
 * never the host's own words.
 */
const tenantMessageOf = (hostId: string, command: string, code: string, details: unknown): string => {
  const reason = hostErrorOf(details);
  return reason?.startsWith("IPSEC_") === true
    ? `host ${hostId} cannot encrypt this network's tunnels (${reason}); it carries no encrypted network`
    : `the host could not complete ${command} (${code})`;
};

/**
 * Sends agent commands (request/reply on sdn.agent.<hostId>.<Command>) and counts the
 * round trips, which the benchmark reports. A host whose agent does not answer is
 * UNAVAILABLE, whatever the bus said: at once when no agent replica serves the host (the
 * bus's "no responders", e.g. while replicas hand it over), else after the timeout. At
 * most PER_HOST commands go to one host at once. The element sends no SetupBridge: the
 * commands that need a bridge ask the agent to set it up (ensureBridge), and the agent
 * shares concurrent set-ups of one bridge.
 */
export class AgentClient {
  roundTrips = 0;
  private readonly lanes = new Map<string, { slots: Semaphore; users: number }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {}

  async call<C extends CommandDefinition>(hostId: string, def: C, body: RequestOf<C>): Promise<ResponseOf<C>> {
    let lane = this.lanes.get(hostId);
    if (lane === undefined) {
      lane = { slots: new Semaphore(PER_HOST), users: 0 };
      this.lanes.set(hostId, lane);
    }
    lane.users++;
    try {
      return await lane.slots.run(() => this.send(hostId, def, body));
    } finally {
      if (--lane.users === 0) this.lanes.delete(hostId);
    }
  }

  private async send<C extends CommandDefinition>(hostId: string, def: C, body: RequestOf<C>): Promise<ResponseOf<C>> {
    this.roundTrips++;
    let answer;
    try {
      answer = await request(this.nc, def, agentSubject(hostId, def.name), body, {
        role: "admin",
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      if (err instanceof NoResponderError) {
        throw new AgentCallError(
          hostId,
          def.name,
          "UNAVAILABLE",
          `no agent replica serves the host now (${err.message})`,
        );
      }
      if (err instanceof MalformedMessageError) {
        // Checked against the agent command's contract: an agent of another version, not a host fault.
        throw new AgentCallError(hostId, def.name, "INTERNAL", err.message, err.details);
      }
      if (err instanceof BusError) {
        throw new AgentCallError(hostId, def.name, "UNAVAILABLE", `the host's agent did not answer (${err.message})`);
      }
      throw err;
    }
    return unwrapAnswer(def.name, answer, (e) => new AgentCallError(hostId, def.name, e.code, e.message, e.details));
  }
}
