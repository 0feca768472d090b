import type { CommandClient, CommandContext } from "@sdn/bus";
import {
  CommandError,
  GetHost,
  GetNetwork,
  ImplementNetwork,
  RecordTunnelHealth,
  ReleaseNicAddress,
  ReserveNicAddress,
  type Answer,
  type CommandDefinition,
  type Host,
  type Network,
  type NetworkTunnelHealth,
  type NicAddress,
  type RequestOf,
  type ResponseOf,
} from "@sdn/contracts";
import { invalidField } from "./element-errors.js";
import { SingleFlight } from "./single-flight.js";

const GURU_TIMEOUT_MS = 30_000;

/** The data of an ok answer; the answer's error, unchanged, otherwise. */
const dataOf = <T>(a: Answer<T>): T => {
  if (!a.ok) throw new CommandError(a.error.code, a.error.message, a.error.details);
  return a.data;
};

/**
 * The element's calls to the network-guru and the host registry, on the durable tier.
 * Calls made for a caller carry the caller's account and role, so the guru enforces the
 * caller's tenancy (and answers NOT_FOUND for another tenant's network).
 */
export class Collaborators {
  private readonly networks = new SingleFlight<Network>();

  constructor(private readonly commands: CommandClient) {}

  private send<C extends CommandDefinition>(def: C, body: RequestOf<C>, ctx: CommandContext) {
    return this.commands.send(def, body, {
      ...(ctx.accountId === undefined ? {} : { accountId: ctx.accountId }),
      role: ctx.role,
      timeoutMs: GURU_TIMEOUT_MS,
    });
  }

  /** Shared with the concurrent lookups of the same network by the same account and role (the trace is the first's). */
  network(networkId: string, ctx: CommandContext): Promise<Network> {
    return this.networks.run(`${networkId}|${ctx.accountId ?? ""}|${ctx.role}`, async () =>
      dataOf(await this.send(GetNetwork, { networkId }, ctx)),
    );
  }

  async implement(networkId: string, ctx: CommandContext): Promise<Network> {
    return dataOf(await this.send(ImplementNetwork, { networkId }, ctx));
  }

  async reserve(req: RequestOf<typeof ReserveNicAddress>, ctx: CommandContext): Promise<NicAddress> {
    return dataOf(await this.send(ReserveNicAddress, req, ctx));
  }

  async release(networkId: string, nicId: string, ctx: CommandContext): Promise<ResponseOf<typeof ReleaseNicAddress>> {
    return dataOf(await this.send(ReleaseNicAddress, { networkId, nicId }, ctx));
  }

  /** Whether the guru still has the network, asked as the system. */
  async networkExists(networkId: string): Promise<boolean> {
    const a = await this.commands.send(GetNetwork, { networkId }, { role: "admin", timeoutMs: GURU_TIMEOUT_MS });
    if (!a.ok && a.error.code === "NOT_FOUND") return false;
    dataOf(a);
    return true;
  }

  /** Records the network's tunnel health summary with the guru, as the system. */
  async recordTunnelHealth(networkId: string, tunnelHealth: NetworkTunnelHealth): Promise<void> {
    const a = await this.commands.send(
      RecordTunnelHealth,
      { networkId, tunnelHealth },
      { role: "admin", timeoutMs: GURU_TIMEOUT_MS },
    );
    dataOf(a);
  }

  /** A registered host, read as the system (hosts are admin resources); unknown → UNPROCESSABLE on hostId. */
  async host(hostId: string): Promise<Host> {
    const a = await this.commands.send(GetHost, { id: hostId }, { role: "admin", timeoutMs: GURU_TIMEOUT_MS });
    if (!a.ok && a.error.code === "NOT_FOUND") throw invalidField("hostId", `host ${hostId} is not registered`);
    return dataOf(a);
  }
}
