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
import { membersOf } from "../routers/redundancy.js";

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

/** check's answer for a pair member that needs a push: the pair is pushed once the member's lock is released. */
const PAIR_PUSH = Symbol("pair push");

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

  /**
   * Pushes the router's current configuration (a pair member's: the whole pair's, see
   * pushGroup); undefined when the router is not registered.
   */
  async push(routerId: string): Promise<PushOutcome | undefined> {
    const group = (await this.d.store.routers.get(routerId))?.value.redundancyGroup;
    if (group === undefined) return this.pushOne(routerId);
    return (await this.pushGroup(group)).find((o) => o.router.id === routerId);
  }

  /**
   * Pushes every member of a redundant pair, at once, each its whole configuration with
   * one generation for all (one past the highest any member was given), so both run the
   * same rules under the same number. A member that is unreachable gets the pair's
   * current configuration when it is back (check pushes the pair again).
   */
  pushGroup(group: string): Promise<PushOutcome[]> {
    return this.serialized(`group:${group}`, async () => {
      const members = membersOf(await this.d.store.allRouters(), group);
      const generation = Math.max(0, ...members.map((m) => m.generation)) + 1;
      const outcomes = await Promise.all(members.map((m) => this.pushOne(m.id, generation)));
      return outcomes.filter((o): o is PushOutcome => o !== undefined);
    });
  }

  private pushOne(routerId: string, generation?: number): Promise<PushOutcome | undefined> {
    return this.serialized(routerId, () =>
      this.d.lock.holding(routerId, this.d.lockWaitMs, async () => {
        const stored = await this.d.store.routers.get(routerId);
        if (stored === undefined) return undefined;
        return this.pushLocked(stored.value, await composeConfig(stored.value, this.d.sources), generation);
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
    const claim = (await this.d.store.networkRouters.get(networkId))?.value;
    const group = claim?.redundancyGroup;
    const single = claim === undefined || group !== undefined ? undefined : await this.push(claim.routerId);
    const outcomes = group !== undefined ? await this.pushGroup(group) : single === undefined ? [] : [single];
    const refused = outcomes.find((o) => o.status === "refused");
    if (refused !== undefined && refused.status !== "applied") {
      return { refused: refused.failure, routerId: refused.router.id };
    }
    const applied = outcomes.filter((o) => o.status === "applied");
    const away = outcomes.filter((o) => o.status === "unreachable");
    const first = applied[0] ?? away[0];
    if (first === undefined) return { outcome: { status: "no-router" } };
    const base = { routerId: first.router.id, generation: first.router.generation };
    if (away.length === 0) return { outcome: { status: "applied", ...base } };
    // The failure names the router's control address and SSH details: the rule's owner (a
    // tenant) learns only that the router is away; admins read it on the router record.
    const code = away[0]?.status === "unreachable" ? away[0].failure.code : "UNREACHABLE";
    if (applied.length === 0) {
      const message = `the router is unreachable (${code}); it gets the change when it is back`;
      return { outcome: { status: "pending", ...base, message } };
    }
    const message = `the pair's other router is unreachable (${code}); it gets the change when it is back`;
    return { outcome: { status: "applied", ...base, message } };
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
  async check(routerId: string): Promise<PushOutcome | undefined> {
    const checked = await this.checkOne(routerId);
    // A pair member that needs a push gets it with its pair (one generation for both).
    return checked === PAIR_PUSH ? this.push(routerId) : checked;
  }

  private checkOne(routerId: string): Promise<PushOutcome | undefined | typeof PAIR_PUSH> {
    return this.serialized(routerId, async () => {
      const revision = await this.d.lock.acquire(routerId, 0);
      if (revision === false) return undefined;
      try {
        const stored = await this.d.store.routers.get(routerId);
        if (stored === undefined) return undefined;
        let router = stored.value;
        const running = await this.d.program.state(this.d.channels.for(router)).catch((err: unknown) => {
          if (err instanceof RouterFailure) return err;
          throw err;
        });
        if (running instanceof RouterFailure && running.reason !== "PROGRAM_FAILED") {
          this.forget(router.id);
          const unknownAlready = router.vrrpState === undefined || router.vrrpState === "UNKNOWN";
          const marked =
            router.state === "Unreachable" && unknownAlready
              ? router
              : await this.record(router.id, {
                  state: "Unreachable",
                  lastError: this.lastError(running),
                  ...(unknownAlready ? {} : { vrrpState: "UNKNOWN" as const }),
                });
          return { status: "unreachable", router: marked, failure: running };
        }
        const config = await composeConfig(router, this.d.sources);
        const digest = digestOf(config);
        const paired = router.redundancyGroup !== undefined;
        if (running instanceof RouterFailure) {
          this.deployed.delete(router.id); // the program is missing or broken: the push deploys it
          return paired ? PAIR_PUSH : await this.pushLocked(router, config);
        }
        const vrrpState = running.vrrp?.state ?? "UNKNOWN";
        if (paired && router.vrrpState !== vrrpState) router = await this.record(router.id, { vrrpState });
        const sync = running.connectionSync;
        if (paired && sync !== undefined && router.connectionSync !== sync) {
          router = await this.record(router.id, { connectionSync: sync });
        }
        // A router whose dnsmasq, metadata server or keepalived died (a reboot) gets a push, which starts them.
        const runsIt =
          running.hash === router.appliedHash &&
          running.generation === router.appliedGeneration &&
          running.guestServicesRunning !== false &&
          running.vrrp?.running !== false &&
          running.connectionSync !== "stopped";
        if (runsIt && digest === router.pushedDigest) {
          return {
            status: "applied",
            // It runs what is desired (it is back, or a refused change was undone): it is fine.
            router: router.state === "Applied" ? router : await this.record(router.id, { state: "Applied" }, true),
          };
        }
        if (runsIt && router.state === "Failed" && digest === router.refusedDigest) return undefined;
        return paired ? PAIR_PUSH : await this.pushLocked(router, config);
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

  /** Pushes as the next generation, or as `generation` when given and newer (a pair's). */
  private async pushLocked(router: RouterRecord, config: RouterConfig, generation = 0): Promise<PushOutcome> {
    const bumped = await this.d.store.routers.update(router.id, (r) =>
      r === undefined ? undefined : { ...r, generation: Math.max(r.generation + 1, generation) },
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
      ...(r.connectionSync === undefined ? {} : { connectionSync: r.connectionSync }),
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
          ...(applied.connectionSync === undefined ? {} : { connectionSync: applied.connectionSync }),
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
