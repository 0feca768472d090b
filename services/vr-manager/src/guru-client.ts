import { CommandFailedError, type CommandClient, type CommandContext } from "@sdn/bus";
import {
  CommandError,
  GetNetwork,
  ListPublicIpRanges,
  ListPublicIps,
  type CommandDefinition,
  type Network,
  type PublicIp,
  type PublicIpRange,
  type RequestOf,
  type ResponseOf,
} from "@sdn/contracts";

const TIMEOUT_MS = 10_000;

/**
 * What the vr-manager reads from the network-guru, over the bus. Reads on behalf of a
 * caller carry the caller's account and role, so the guru's tenancy applies (NOT_FOUND
 * for another account's network); the rest run as the system.
 */
export class GuruClient {
  constructor(private readonly commands: CommandClient) {}

  /** The network as the caller may see it; NOT_FOUND otherwise. */
  networkFor(networkId: string, ctx: CommandContext): Promise<Network> {
    return this.call(GetNetwork, { networkId }, ctx);
  }

  /** The network, or undefined when it is gone. */
  async network(networkId: string): Promise<Network | undefined> {
    try {
      return await this.call(GetNetwork, { networkId });
    } catch (err) {
      if (err instanceof CommandFailedError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  /** Every public IP of the network: the guru answers in pages, so this follows the cursors. */
  async publicIps(networkId: string): Promise<PublicIp[]> {
    const all: PublicIp[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.call(ListPublicIps, {
        networkId,
        limit: 1000,
        ...(cursor === undefined ? {} : { cursor }),
      });
      all.push(...page.publicIps);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  }

  async publicIpRanges(): Promise<PublicIpRange[]> {
    return (await this.call(ListPublicIpRanges, {})).ranges;
  }

  /** The guru's own refusals pass unchanged; a guru that does not answer is UNAVAILABLE. */
  private async call<C extends CommandDefinition>(
    def: C,
    body: RequestOf<C>,
    ctx?: CommandContext,
  ): Promise<ResponseOf<C>> {
    const who =
      ctx === undefined
        ? { role: "admin" as const }
        : { role: ctx.role, ...(ctx.accountId === undefined ? {} : { accountId: ctx.accountId }) };
    try {
      return await this.commands.call(def, body, { ...who, timeoutMs: TIMEOUT_MS });
    } catch (err) {
      if (err instanceof CommandFailedError) throw err;
      throw new CommandError(
        "UNAVAILABLE",
        `the network-guru did not answer ${def.name}: ${(err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
  }
}
