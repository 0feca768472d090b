import type { CommandContext } from "@sdn/bus";
import {
  RULE_KINDS,
  type ApplyOutcome,
  type InterNetworkRoute,
  type Network,
  type RuleKind,
  type RuleOfKind,
} from "@sdn/contracts";
import { createHash } from "node:crypto";
import type { Pusher } from "../apply/pusher.js";
import { conflict, invalidField, notFound } from "../errors.js";
import type { GuruClient } from "../guru-client.js";
import { emptyRuleBook, pairKey, type VrStore } from "../store.js";
import { validateRule, type NewRule } from "./validate.js";

const PREFIX: Record<RuleKind | "routes", string> = {
  portForwards: "pf",
  staticNats: "snat",
  firewallRules: "fw",
  egressRules: "eg",
  loadBalancers: "lb",
  routes: "inr",
};

/** A rule's id comes from the command that created it, so a redelivered command finds its rule. */
const ruleId = (kind: RuleKind | "routes", commandId: string): string =>
  `${PREFIX[kind]}-${createHash("sha256").update(`${kind}/${commandId}`).digest("hex").slice(0, 16)}`;

/**
 * The L3 rules of guest networks: one rule book per network in KV, changed by
 * compare-and-swap with every check re-run on the state it is written over. A change is
 * stored, then pushed to the network's router; when the router refuses it, the change is
 * undone (only that change, whatever else happened meanwhile) and the command fails.
 */
export class RuleManager {
  constructor(
    private readonly store: VrStore,
    private readonly guru: GuruClient,
    private readonly pusher: Pusher,
  ) {}

  async create<K extends RuleKind>(
    kind: K,
    networkId: string,
    input: NewRule<K>,
    ctx: CommandContext,
  ): Promise<RuleOfKind[K] & { apply: ApplyOutcome }> {
    const network = await this.guru.networkFor(networkId, ctx);
    const publicIps = await this.guru.publicIps(networkId);
    const id = ruleId(kind, ctx.commandId);
    let rule: RuleOfKind[K] | undefined;
    await this.store.rules.update(networkId, (current) => {
      const book = current ?? emptyRuleBook(networkId, network.accountId);
      rule = (book[kind] as RuleOfKind[K][]).find((r) => r.id === id); // a redelivered command
      if (rule !== undefined) return undefined;
      rule = validateRule(kind, { network, publicIps, book, id, createdAt: new Date().toISOString() }, input);
      return { ...book, [kind]: [...book[kind], rule] };
    });
    const created = rule as RuleOfKind[K];
    const apply = await this.applyOrUndo(networkId, () => this.removeFromBook(kind, networkId, id));
    return { ...created, apply };
  }

  async list<K extends RuleKind>(kind: K, networkId: string, ctx: CommandContext): Promise<RuleOfKind[K][]> {
    await this.guru.networkFor(networkId, ctx);
    return ((await this.store.rules.get(networkId))?.value[kind] ?? []) as RuleOfKind[K][];
  }

  async remove(kind: RuleKind, networkId: string, id: string, ctx: CommandContext): Promise<ApplyOutcome> {
    await this.guru.networkFor(networkId, ctx);
    const removed = await this.removeFromBook(kind, networkId, id);
    if (removed === undefined) throw notFound("rule", id);
    return this.applyOrUndo(networkId, () => this.restoreToBook(kind, networkId, removed));
  }

  /**
   * The rules of every kind on these networks that the caller's account owns (admins: any),
   * read from the rule books themselves, so a quota counts what really exists.
   */
  async count(networkIds: string[], ctx: CommandContext): Promise<number> {
    const books = await Promise.all([...new Set(networkIds)].map((id) => this.store.rules.get(id)));
    return books.reduce((sum, entry) => {
      const book = entry?.value;
      if (book === undefined || (ctx.role !== "admin" && book.accountId !== ctx.accountId)) return sum;
      return sum + RULE_KINDS.reduce((n, kind) => n + book[kind].length, 0);
    }, 0);
  }

  async egressPolicy(networkId: string, ctx: CommandContext): Promise<"allow" | "deny"> {
    await this.guru.networkFor(networkId, ctx);
    return (await this.store.rules.get(networkId))?.value.egressDefault ?? "allow";
  }

  async setEgressPolicy(networkId: string, policy: "allow" | "deny", ctx: CommandContext): Promise<ApplyOutcome> {
    const network = await this.guru.networkFor(networkId, ctx);
    let before: "allow" | "deny" = "allow";
    await this.store.rules.update(networkId, (current) => {
      const book = current ?? emptyRuleBook(networkId, network.accountId);
      before = book.egressDefault;
      return before === policy ? undefined : { ...book, egressDefault: policy };
    });
    const previous = before;
    return this.applyOrUndo(networkId, async () => {
      await this.store.rules.update(networkId, (b) =>
        b === undefined ? undefined : { ...b, egressDefault: previous },
      );
    });
  }

  async createRoute(
    networkId: string,
    peerNetworkId: string,
    ctx: CommandContext,
  ): Promise<InterNetworkRoute & { apply: ApplyOutcome }> {
    if (networkId === peerNetworkId) throw invalidField("peerNetworkId", "a network is not routed with itself");
    const [network] = await Promise.all([
      this.guru.networkFor(networkId, ctx),
      this.guru.networkFor(peerNetworkId, ctx),
    ]);
    const routerId = await this.sharedRouter(network, peerNetworkId);
    const id = ruleId("routes", ctx.commandId);
    const key = pairKey(networkId, peerNetworkId);
    const route: InterNetworkRoute = {
      id,
      networkIds: [networkId, peerNetworkId].sort(),
      accountId: network.accountId,
      routerId,
      createdAt: new Date().toISOString(),
    };
    if ((await this.store.routes.tryCreate(key, route)) === undefined) {
      const existing = await this.store.routes.get(key);
      if (existing?.value.id !== id) {
        throw conflict(`routing between the two networks is enabled already (rule ${existing?.value.id ?? "?"})`);
      }
    }
    const apply = await this.applyOrUndo(networkId, () => this.store.routes.delete(key));
    return { ...((await this.store.routes.get(key))?.value ?? route), apply };
  }

  async routes(networkId: string, ctx: CommandContext): Promise<InterNetworkRoute[]> {
    await this.guru.networkFor(networkId, ctx);
    return this.store.routesOf(networkId);
  }

  async deleteRoute(networkId: string, id: string, ctx: CommandContext): Promise<ApplyOutcome> {
    await this.guru.networkFor(networkId, ctx);
    const route = (await this.store.routesOf(networkId)).find((r) => r.id === id);
    if (route === undefined) throw notFound("inter-network route", id);
    const [a, b] = route.networkIds as [string, string];
    await this.store.routes.delete(pairKey(a, b));
    return this.applyOrUndo(networkId, async () => {
      await this.store.routes.createIfAbsent(pairKey(a, b), route);
    });
  }

  /** Both networks must be served by one router: routing between them happens there. */
  private async sharedRouter(network: Network, peerNetworkId: string): Promise<string> {
    const [mine, theirs] = await Promise.all([
      this.store.networkRouters.get(network.id),
      this.store.networkRouters.get(peerNetworkId),
    ]);
    if (mine === undefined || theirs === undefined || mine.value.routerId !== theirs.value.routerId) {
      throw invalidField("peerNetworkId", `networks ${network.id} and ${peerNetworkId} are not served by one router`);
    }
    return mine.value.routerId;
  }

  /** Pushes the network's router; if it refuses, undoes the change and fails with its reason. */
  private async applyOrUndo(networkId: string, undo: () => Promise<unknown>): Promise<ApplyOutcome> {
    const pushed = await this.pusher.pushNetwork(networkId);
    if ("outcome" in pushed) return pushed.outcome;
    await undo();
    throw pushed.refused.toCommandError({ routerId: pushed.routerId });
  }

  private async removeFromBook(
    kind: RuleKind,
    networkId: string,
    id: string,
  ): Promise<RuleOfKind[RuleKind] | undefined> {
    let removed: RuleOfKind[RuleKind] | undefined;
    await this.store.rules.update(networkId, (book) => {
      const list = (book?.[kind] ?? []) as RuleOfKind[RuleKind][];
      removed = list.find((r) => r.id === id);
      return book === undefined || removed === undefined
        ? undefined
        : { ...book, [kind]: list.filter((r) => r.id !== id) };
    });
    return removed;
  }

  private async restoreToBook(kind: RuleKind, networkId: string, rule: RuleOfKind[RuleKind]): Promise<void> {
    await this.store.rules.update(networkId, (book) => {
      if (book === undefined) return undefined;
      const list = book[kind] as RuleOfKind[RuleKind][];
      return list.some((r) => r.id === rule.id) ? undefined : { ...book, [kind]: [...list, rule] };
    });
  }
}
