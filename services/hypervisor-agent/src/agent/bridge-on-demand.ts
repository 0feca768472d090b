import type { HostDriver } from "../drivers/driver.js";
import { HostProgramError } from "../drivers/errors.js";

const missingBridge = (err: unknown): boolean =>
  err instanceof HostProgramError && err.hostError === "BRIDGE_NOT_FOUND";

/**
 * Runs a command that needs the network's bridge (ApplyTunnels, PlugVif) and, when the
 * caller asked with ensureBridge, sets the bridge up first if the host answers that it has
 * none, then runs the command again: one agent call instead of SetupBridge and the command.
 * The command is tried first because setting up a bridge is not free when it exists (XAPI
 * reads the pool's networks); the usual case, a bridge already there, costs nothing more.
 * Concurrent set-ups of one network's bridge on this host share one (the drivers create
 * it idempotently, but two at once would both find it missing).
 */
export class BridgeOnDemand {
  private readonly setups = new Map<string, Promise<boolean>>();

  constructor(private readonly driver: () => HostDriver) {}

  async run<R extends object>(
    req: { networkId: string; ensureBridge?: boolean | undefined },
    work: () => Promise<R>,
  ): Promise<R & { bridgeCreated?: boolean }> {
    if (req.ensureBridge !== true) return work();
    try {
      return { ...(await work()), bridgeCreated: false };
    } catch (err) {
      if (!missingBridge(err)) throw err;
    }
    const created = await this.setUp(req.networkId);
    return { ...(await work()), bridgeCreated: created };
  }

  private setUp(networkId: string): Promise<boolean> {
    let setup = this.setups.get(networkId);
    if (setup === undefined) {
      setup = this.driver()
        .setupBridge({ networkId })
        .then((r) => r.created)
        .finally(() => this.setups.delete(networkId));
      this.setups.set(networkId, setup);
    }
    return setup;
  }
}

/** The request without ensureBridge: what the drivers and host programs were always given. */
export const withoutEnsure = <T extends { ensureBridge?: boolean | undefined }>(req: T): Omit<T, "ensureBridge"> => {
  const { ensureBridge: _ensure, ...rest } = req;
  return rest;
};
