import type { EventPublisher } from "@sdn/bus";
import { RulesApplied, RulesFailed, type ApplyOutcome } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import { RouterFailure } from "../errors.js";
import type { RouterRecord, VrStore } from "../store.js";
import type { Channels } from "../transport/channels.js";
import { ConfigurationRefused, type RouterProgram } from "../transport/router-program.js";
import { composeConfig, digestOf, type ComposeSources, type RouterConfig } from "./compose.js";
import type { PushLock } from "./push-lock.js";
import { measurePush } from "./push-metrics.js";

export type PushOutcome =
  | { status: "applied"; router: RouterRecord }
  | { status: "refused" | "unreachable"; router: RouterRecord; failure: RouterFailure };

export interface PusherDeps {
  store: VrStore;
  /** Where configurations come from (the store above among them). */
  sources: ComposeSources;
  channels: Channels;
  program: RouterProgram;
  lock: PushLock;
  events: EventPublisher;
  logger: Logger;
  /** How long a push waits for another replica's push to the same router. */
  lockWaitMs: number;
}

const now = () => new Date().toISOString();

/**
 * Pushes routers' whole configurations (never deltas), each with a new generation. Pushes
 * to one router are serialized: in this process by a promise chain, across replicas by
 * the router's KV lock. A push composes the configuration only once it holds the lock,
 * so the last push always carries every change stored before it began.
 */
export class Pusher {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly deployed = new Map<string, string>();

  constructor(private readonly d: PusherDeps) {}

  /** Pushes the router's current configuration; undefined when the router is not registered. */
  push(routerId: string): Promise<PushOutcome | undefined> {
    return this.serialized(routerId, () =>
      this.d.lock.holding(routerId, this.d.lockWaitMs, async () => {
        const stored = await this.d.store.routers.get(routerId);
        if (stored === undefined) return undefined;
        return this.pushLocked(stored.value, await composeConfig(stored.value, this.d.sources));
      }),
    );
  }

  /**
   * Pushes to the router serving a network, if any: what became of the change, or the
   * router's refusal (the router still runs its previous configuration).
   */
  async pushNetwork(
    networkId: string,
  ): Promise<{ outcome: ApplyOutcome } | { refused: RouterFailure; routerId: string }> {
    const claim = await this.d.store.networkRouters.get(networkId);
    const pushed = claim === undefined ? undefined : await this.push(claim.value.routerId);
    if (pushed === undefined) return { outcome: { status: "no-router" } };
    const base = { routerId: pushed.router.id, generation: pushed.router.generation };
    if (pushed.status === "applied") return { outcome: { status: "applied", ...base } };
    if (pushed.status === "unreachable") {
      // The failure names the router's control address and SSH details: the rule's owner (a
      // tenant) learns only that the router is away; admins read it on the router record.
      const message = `the router is unreachable (${pushed.failure.code}); it gets the change when it is back`;
      return { outcome: { status: "pending", ...base, message } };
    }
    return { refused: pushed.failure, routerId: pushed.router.id };
  }

  /**
   * Deploys the program and pushes `config` to a router that is not stored yet (a
   * registration); the record comes back with the outcome, for the caller to store.
   */
  async pushNew(record: RouterRecord): Promise<PushOutcome> {
    const config = await composeConfig(record, this.d.sources);
    return this.serialized(record.id, () => this.apply(record, config, record.generation + 1));
  }

  /**
   * The periodic check of one router. It asks the router what it runs (no push, no new
   * generation): an unreachable router is only marked so; one that runs something else
   * than it was last given (rebooted, re-imaged, changed by hand, its program gone), or
   * whose desired configuration moved on without a push reaching it (it was down, a public
   * IP came or went), gets a push. Skips a router another replica is pushing to.
   */
  check(routerId: string): Promise<PushOutcome | undefined> {
    return this.serialized(routerId, async () => {
      const revision = await this.d.lock.acquire(routerId, 0);
      if (revision === false) return undefined;
      try {
        const stored = await this.d.store.routers.get(routerId);
        if (stored === undefined) return undefined;
        const router = stored.value;
        const running = await this.d.program.state(this.d.channels.for(router)).catch((err: unknown) => {
          if (err instanceof RouterFailure) return err;
          throw err;
        });
        if (running instanceof RouterFailure && running.reason !== "PROGRAM_FAILED") {
          this.forget(router.id);
          const marked =
            router.state === "Unreachable"
              ? router
              : await this.record(router.id, { state: "Unreachable", lastError: this.lastError(running) });
          return { status: "unreachable", router: marked, failure: running };
        }
        const config = await composeConfig(router, this.d.sources);
        const digest = digestOf(config);
        if (running instanceof RouterFailure) {
          this.deployed.delete(router.id); // the program is missing or broken: the push deploys it
          return await this.pushLocked(router, config);
        }
        // A router whose dnsmasq or metadata server died (a reboot) gets a push, which starts them.
        const runsIt =
          running.hash === router.appliedHash &&
          running.generation === router.appliedGeneration &&
          running.guestServicesRunning !== false;
        if (runsIt && digest === router.pushedDigest) {
          return {
            status: "applied",
            // It runs what is desired (it is back, or a refused change was undone): it is fine.
            router: router.state === "Applied" ? router : await this.record(router.id, { state: "Applied" }, true),
          };
        }
        if (runsIt && router.state === "Failed" && digest === router.refusedDigest) return undefined;
        return await this.pushLocked(router, config);
      } finally {
        await this.d.lock.release(routerId, revision);
      }
    });
  }

  /** Forgets what was deployed on a router (its channel is gone). */
  forget(routerId: string): void {
    this.deployed.delete(routerId);
    this.d.channels.drop(routerId);
  }

  private async pushLocked(router: RouterRecord, config: RouterConfig): Promise<PushOutcome> {
    const bumped = await this.d.store.routers.update(router.id, (r) =>
      r === undefined ? undefined : { ...r, generation: r.generation + 1 },
    );
    if (bumped === undefined) throw new Error(`router ${router.id} vanished during a push`);
    const outcome = await this.apply(bumped, config, bumped.generation);
    // A router that runs a newer generation than ours (our record was restored from an
    // older copy): catch up past it once instead of failing forever.
    if (
      outcome.status === "refused" &&
      outcome.failure instanceof ConfigurationRefused &&
      outcome.failure.routerCode === "STALE_GENERATION" &&
      (outcome.failure.runningGeneration ?? 0) >= bumped.generation
    ) {
      const skip = outcome.failure.runningGeneration ?? 0;
      const caught = await this.d.store.routers.update(router.id, (r) =>
        r === undefined ? undefined : { ...r, generation: Math.max(r.generation, skip) + 1 },
      );
      if (caught !== undefined) return this.store(await this.apply(caught, config, caught.generation));
    }
    return this.store(outcome);
  }

  /** Writes a push's outcome into the stored record (the rest of the record may have changed meanwhile). */
  private async store(outcome: PushOutcome): Promise<PushOutcome> {
    const r = outcome.router;
    const fields: Partial<RouterRecord> = {
      state: r.state,
      appliedGeneration: r.appliedGeneration,
      ...(r.appliedHash === undefined ? {} : { appliedHash: r.appliedHash }),
      ...(r.pushedDigest === undefined ? {} : { pushedDigest: r.pushedDigest }),
      ...(r.refusedDigest === undefined ? {} : { refusedDigest: r.refusedDigest }),
      ...(r.programVersion === undefined ? {} : { programVersion: r.programVersion }),
    };
    const clearError = outcome.status === "applied";
    const saved = await this.d.store.routers.update(r.id, (cur) => {
      if (cur === undefined) return undefined;
      const next: RouterRecord = { ...cur, ...fields, updatedAt: now() };
      if (clearError) delete next.lastError;
      else if (r.lastError !== undefined) next.lastError = r.lastError;
      return next;
    });
    return { ...outcome, router: saved ?? r };
  }

  private async record(routerId: string, fields: Partial<RouterRecord>, clearError = false): Promise<RouterRecord> {
    const saved = await this.d.store.routers.update(routerId, (cur) => {
      if (cur === undefined) return undefined;
      const next: RouterRecord = { ...cur, ...fields, updatedAt: now() };
      if (clearError) delete next.lastError;
      return next;
    });
    if (saved === undefined) throw new Error(`router ${routerId} vanished`);
    return saved;
  }

  private lastError(f: RouterFailure) {
    return { code: f.code, message: f.message, at: now() };
  }

  /** Deploys if needed and applies `config` as `generation`; publishes RulesApplied / RulesFailed. */
  private apply(router: RouterRecord, config: RouterConfig, generation: number): Promise<PushOutcome> {
    return measurePush(() => this.applyNow(router, config, generation));
  }

  private async applyNow(router: RouterRecord, config: RouterConfig, generation: number): Promise<PushOutcome> {
    const digest = digestOf(config);
    const channel = this.d.channels.for(router);
    try {
      let version = this.deployed.get(router.id);
      if (version === undefined) {
        version = await this.d.program.ensureDeployed(channel);
        this.deployed.set(router.id, version);
      }
      const applied = await this.d.program.apply(channel, { generation, ...config });
      if (applied.warnings !== undefined && applied.warnings.length > 0) {
        // The rules are in force; what failed after them (old connections not cut) is for operators.
        this.d.logger.warn({ routerId: router.id, generation, warnings: applied.warnings }, "applied with warnings");
      }
      await this.d.events.publish(RulesApplied, {
        routerId: router.id,
        generation: applied.generation,
        hash: applied.hash,
        summary: applied.summary,
      });
      return {
        status: "applied",
        router: {
          ...router,
          generation,
          state: "Applied",
          appliedGeneration: applied.generation,
          appliedHash: applied.hash,
          pushedDigest: digest,
          programVersion: version,
        },
      };
    } catch (err) {
      if (!(err instanceof RouterFailure)) throw err;
      const refused = err instanceof ConfigurationRefused;
      if (!refused) this.forget(router.id);
      this.d.logger.warn({ routerId: router.id, generation, code: err.code, err: err.message }, "push failed");
      await this.d.events.publish(RulesFailed, {
        routerId: router.id,
        generation,
        code: err.code,
        message: err.message,
        ...(refused && err.runningGeneration !== undefined ? { runningGeneration: err.runningGeneration } : {}),
      });
      return {
        status: refused ? "refused" : "unreachable",
        failure: err,
        router: {
          ...router,
          generation,
          state: refused ? "Failed" : "Unreachable",
          ...(refused ? { refusedDigest: digest } : {}),
          lastError: this.lastError(err),
        },
      };
    }
  }

  private serialized<T>(routerId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(routerId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.chains.set(routerId, settled);
    void settled.then(() => {
      if (this.chains.get(routerId) === settled) this.chains.delete(routerId);
    });
    return next;
  }
}
