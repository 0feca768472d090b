import { Batcher, CommandFailedError, type CommandClient, type CommandContext } from "@sdn/bus";
import {
  GetHost,
  GetNetwork,
  GetNetworkTunnelSecret,
  ImplementNetwork,
  RecordTunnelHealth,
  ReleaseNicAddress,
  ReserveNicAddress,
  ReserveNicAddresses,
  MAX_NIC_ADDRESS_BATCH,
  type CommandDefinition,
  type Host,
  type Network,
  type NetworkTunnelHealth,
  type NicAddress,
  type RequestOf,
  type ResponseOf,
  type SealedSecret,
} from "@sdn/contracts";
import { invalidField } from "./element-errors.js";
import { SingleFlight } from "./single-flight.js";

const GURU_TIMEOUT_MS = 30_000;

/** How the element calls as the system (reads of admin resources, records of its own). */
const AS_SYSTEM = { role: "admin", timeoutMs: GURU_TIMEOUT_MS } as const;

interface Reservation {
  req: RequestOf<typeof ReserveNicAddress>;
  ctx: CommandContext;
}

const isNotFound = (err: unknown): boolean => err instanceof CommandFailedError && err.code === "NOT_FOUND";

/**
 * The element's calls to the network-guru and the host registry, on the durable tier.
 * Calls made for a caller carry the caller's account and role, so the guru enforces the
 * caller's tenancy (and answers NOT_FOUND for another tenant's network).
 */
export class Collaborators {
  private readonly networks = new SingleFlight<Network>();
  /**
   * Reservations of one network (for one account and role) made while one is on its way go
   * together as one ReserveNicAddresses: a burst of plugs costs a few guru commands, and a
   * lone plug is sent at once, as a ReserveNicAddress.
   */
  private readonly reservations = new Batcher<Reservation, NicAddress | CommandFailedError>(
    (_key, items) => this.reserveBatch(items),
    MAX_NIC_ADDRESS_BATCH,
  );

  constructor(private readonly commands: CommandClient) {}

  /** The data of the guru's answer; its refusal, unchanged, as a CommandFailedError. */
  private call<C extends CommandDefinition>(def: C, body: RequestOf<C>, ctx: CommandContext): Promise<ResponseOf<C>> {
    return this.commands.call(def, body, {
      ...(ctx.accountId === undefined ? {} : { accountId: ctx.accountId }),
      role: ctx.role,
      timeoutMs: GURU_TIMEOUT_MS,
    });
  }

  /** Shared with the concurrent lookups of the same network by the same account and role (the trace is the first's). */
  network(networkId: string, ctx: CommandContext): Promise<Network> {
    return this.networks.run(`${networkId}|${ctx.accountId ?? ""}|${ctx.role}`, () =>
      this.call(GetNetwork, { networkId }, ctx),
    );
  }

  implement(networkId: string, ctx: CommandContext): Promise<Network> {
    return this.call(ImplementNetwork, { networkId }, ctx);
  }

  async reserve(req: RequestOf<typeof ReserveNicAddress>, ctx: CommandContext): Promise<NicAddress> {
    const got = await this.reservations.submit(`${req.networkId}|${ctx.accountId ?? ""}|${ctx.role}`, { req, ctx });
    if (got instanceof CommandFailedError) throw got;
    return got;
  }

  /** One reservation as before; several (distinct NICs) in one batch command, each its own refusal. */
  private async reserveBatch(items: Reservation[]): Promise<(NicAddress | CommandFailedError)[]> {
    const first = items[0];
    if (first === undefined) return [];
    // Two plugs of one NIC at once: each its own command, as before (a batch refuses a NIC given twice).
    if (items.length === 1 || new Set(items.map((i) => i.req.nicId)).size < items.length) {
      return Promise.all(
        items.map(({ req, ctx }) =>
          this.call(ReserveNicAddress, req, ctx).catch((err: unknown) => {
            if (err instanceof CommandFailedError) return err;
            throw err;
          }),
        ),
      );
    }
    const nics = items.map(({ req }) =>
      req.ip === undefined ? { nicId: req.nicId } : { nicId: req.nicId, ip: req.ip },
    );
    const answer = await this.call(ReserveNicAddresses, { networkId: first.req.networkId, nics }, first.ctx);
    // A NIC's refusal reads as the ReserveNicAddress refusal it is.
    return answer.nics.map(
      (n) =>
        n.address ??
        new CommandFailedError(ReserveNicAddress.name, n.error ?? { code: "INTERNAL", message: "no outcome" }),
    );
  }

  release(networkId: string, nicId: string, ctx: CommandContext): Promise<ResponseOf<typeof ReleaseNicAddress>> {
    return this.call(ReleaseNicAddress, { networkId, nicId }, ctx);
  }

  /** Whether the guru still has the network, asked as the system. */
  async networkExists(networkId: string): Promise<boolean> {
    try {
      await this.commands.call(GetNetwork, { networkId }, AS_SYSTEM);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** An encrypted network's IPsec key, sealed to the agents (the element only passes it on), asked as the system. */
  async tunnelSecret(networkId: string): Promise<SealedSecret> {
    return (await this.commands.call(GetNetworkTunnelSecret, { networkId }, AS_SYSTEM)).sealedPsk;
  }

  /** Records the network's tunnel health summary with the guru, as the system. */
  async recordTunnelHealth(networkId: string, tunnelHealth: NetworkTunnelHealth): Promise<void> {
    await this.commands.call(RecordTunnelHealth, { networkId, tunnelHealth }, AS_SYSTEM);
  }

  /** A registered host, read as the system (hosts are admin resources); unknown → UNPROCESSABLE on hostId. */
  async host(hostId: string): Promise<Host> {
    try {
      return await this.commands.call(GetHost, { id: hostId }, AS_SYSTEM);
    } catch (err) {
      if (isNotFound(err)) throw invalidField("hostId", `host ${hostId} is not registered`);
      throw err;
    }
  }
}
