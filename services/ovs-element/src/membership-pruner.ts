import type { Logger } from "@sdn/runtime";
import type { Collaborators } from "./collaborators.js";
import { describeError } from "./element-errors.js";
import type { ElementStore, Membership } from "./store.js";

/**
 * Forgets the mesh of networks that no longer exist. A network's membership entry outlives
 * its last NIC (it is the CAS point of the next plug), so it only goes when the guru says
 * the network is gone. Asking the guru, rather than listening for NetworkDeleted, also
 * covers deletions made while no element replica was running.
 */
export class MembershipPruner {
  constructor(
    private readonly store: ElementStore,
    private readonly peers: Collaborators,
    private readonly logger: Logger,
  ) {}

  /** Prunes the empty memberships among `memberships`; returns how many networks were forgotten. */
  async prune(memberships: readonly Membership[]): Promise<number> {
    let pruned = 0;
    for (const m of memberships.filter((x) => Object.keys(x.hosts).length === 0)) {
      try {
        if (await this.forgetIfDeleted(m.networkId)) pruned++;
      } catch (err) {
        this.logger.warn({ err: describeError(err), networkId: m.networkId }, "could not prune a network's mesh");
      }
    }
    return pruned;
  }

  private async forgetIfDeleted(networkId: string): Promise<boolean> {
    if (await this.peers.networkExists(networkId)) return false;
    const current = await this.store.memberships.get(networkId);
    // The revision guards against a plug that raced in: a moved entry is not empty any more.
    if (current === undefined || Object.keys(current.value.hosts).length > 0) return false;
    if (!(await this.store.memberships.tryDelete(networkId, current.revision))) return false;
    for (const key of await this.store.tunnels.keys(`${networkId}.>`)) await this.store.tunnels.delete(key);
    this.logger.info({ networkId }, "network deleted: its mesh entry is forgotten");
    return true;
  }
}
