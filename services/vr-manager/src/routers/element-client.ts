import { unwrapAnswer, type CommandClient, type SendOptions } from "@sdn/bus";
import {
  CommandError,
  ListNics,
  PlugNic,
  UnplugNic,
  type CommandDefinition,
  type Nic,
  type RequestOf,
  type ResponseOf,
  type RouterNic,
} from "@sdn/contracts";

const TIMEOUT_MS = 90_000;
const LIST_TIMEOUT_MS = 10_000;

/** What a router NIC is plugged with: the router VM and its host. */
export interface RouterVm {
  id: string;
  hostId: string;
  vmId: string;
}

/**
 * Plugs a router's NICs into its networks through the ovs-element, like any VM's but with
 * role router (the NIC holds the network's gateway address). Command ids derive from the
 * router and network, so a redelivered registration finds the NIC it plugged before.
 */
export class ElementClient {
  constructor(private readonly commands: CommandClient) {}

  async plug(router: RouterVm, nic: RouterNic): Promise<Nic> {
    return this.call(
      PlugNic,
      {
        networkId: nic.networkId,
        vmId: router.vmId,
        hostId: router.hostId,
        role: "router",
        ...(nic.hostInterface === undefined ? {} : { hostInterface: nic.hostInterface }),
        ...(nic.mac === undefined ? {} : { mac: nic.mac }),
      },
      { role: "admin", commandId: `${router.id}-plug-${nic.networkId}`, timeoutMs: TIMEOUT_MS },
      `the ovs-element could not plug the router's NIC on network ${nic.networkId}`,
    );
  }

  /** Unplugs a NIC the vr-manager plugged; one already gone is fine. */
  async unplug(routerId: string, nic: RouterNic): Promise<void> {
    if (nic.nicId === undefined) return;
    const nicId = nic.nicId;
    await this.call(
      UnplugNic,
      { networkId: nic.networkId, nicId },
      { role: "admin", commandId: `${routerId}-unplug-${nicId}`, timeoutMs: TIMEOUT_MS },
      `the ovs-element could not unplug the router's NIC ${nicId}`,
    ).catch((err: unknown) => {
      if (!(err instanceof CommandError && err.code === "NOT_FOUND")) throw err;
    });
  }

  /** Every NIC of a network (the element answers in pages; this follows the cursors). */
  async nics(networkId: string): Promise<Nic[]> {
    const all: Nic[] = [];
    let cursor: string | undefined;
    do {
      const body = { networkId, limit: 1000, ...(cursor === undefined ? {} : { cursor }) };
      const page = await this.call(
        ListNics,
        body,
        { role: "admin", timeoutMs: LIST_TIMEOUT_MS },
        `the ovs-element could not list network ${networkId}'s NICs`,
      );
      all.push(...page.nics);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  }

  /** The command's data; a refusal keeps its code and says what failed, no answer is UNAVAILABLE. */
  private async call<C extends CommandDefinition>(
    def: C,
    body: RequestOf<C>,
    opts: SendOptions,
    failed: string,
  ): Promise<ResponseOf<C>> {
    let answer;
    try {
      answer = await this.commands.send(def, body, opts);
    } catch (err) {
      throw new CommandError("UNAVAILABLE", `the ovs-element did not answer ${def.name}: ${(err as Error).message}`);
    }
    return unwrapAnswer(def.name, answer, (e) => new CommandError(e.code, `${failed}: ${e.message}`, e.details));
  }
}
