import type { CommandClient } from "@sdn/bus";
import { CommandError, ListNics, PlugNic, UnplugNic, type Nic, type RouterNic } from "@sdn/contracts";

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
    const answer = await this.send(
      () =>
        this.commands.send(
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
        ),
      "PlugNic",
    );
    if (!answer.ok) {
      throw new CommandError(
        answer.error.code,
        `the ovs-element could not plug the router's NIC on network ${nic.networkId}: ${answer.error.message}`,
        answer.error.details,
      );
    }
    return answer.data;
  }

  /** Unplugs a NIC the vr-manager plugged; one already gone is fine. */
  async unplug(routerId: string, nic: RouterNic): Promise<void> {
    if (nic.nicId === undefined) return;
    const nicId = nic.nicId;
    const answer = await this.send(
      () =>
        this.commands.send(
          UnplugNic,
          { networkId: nic.networkId, nicId },
          { role: "admin", commandId: `${routerId}-unplug-${nicId}`, timeoutMs: TIMEOUT_MS },
        ),
      "UnplugNic",
    );
    if (!answer.ok && answer.error.code !== "NOT_FOUND") {
      throw new CommandError(
        answer.error.code,
        `the ovs-element could not unplug the router's NIC ${nicId}: ${answer.error.message}`,
        answer.error.details,
      );
    }
  }

  /** Every NIC of a network (the element answers in pages; this follows the cursors). */
  async nics(networkId: string): Promise<Nic[]> {
    const all: Nic[] = [];
    let cursor: string | undefined;
    do {
      const body = { networkId, limit: 1000, ...(cursor === undefined ? {} : { cursor }) };
      const answer = await this.send(
        () => this.commands.send(ListNics, body, { role: "admin", timeoutMs: LIST_TIMEOUT_MS }),
        "ListNics",
      );
      if (!answer.ok) {
        throw new CommandError(
          answer.error.code,
          `the ovs-element could not list network ${networkId}'s NICs: ${answer.error.message}`,
        );
      }
      all.push(...answer.data.nics);
      cursor = answer.data.nextCursor;
    } while (cursor !== undefined);
    return all;
  }

  private async send<T>(call: () => Promise<T>, what: string): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new CommandError("UNAVAILABLE", `the ovs-element did not answer ${what}: ${(err as Error).message}`);
    }
  }
}
