import type { CommandContext, EventPublisher } from "@sdn/bus";
import {
  RouterDeleted,
  RouterRegistered,
  RouterUpdated,
  type NewRouter,
  type Router,
  type RouterNic,
} from "@sdn/contracts";
import { createHash } from "node:crypto";
import type { Pusher } from "../apply/pusher.js";
import { conflict, invalidField, notFound, requireAdmin } from "../errors.js";
import type { GuruClient } from "../guru-client.js";
import type { RouterRecord, VrStore } from "../store.js";
import type { ElementClient } from "./element-client.js";
import { FIRST_PRIORITY, membersOf, redundancyOf, SECOND_PRIORITY } from "./redundancy.js";

/** The resource without the vr-manager's bookkeeping (nor its `vrrp` record: the priority shows in `redundancy`); with its pair when it has one. */
export const toRouter = (r: RouterRecord, all: readonly RouterRecord[] = []): Router => {
  const { pushedDigest: _p, refusedDigest: _r, vrrp: _v, ...router } = r;
  const redundancy = redundancyOf(r, all.length > 0 ? all : [r]);
  return redundancy === undefined ? router : { ...router, redundancy };
};

/** A router's id comes from the command that registered it, so a redelivered command finds its router. */
const routerIdOf = (commandId: string): string =>
  `vr-${createHash("sha256").update(`router/${commandId}`).digest("hex").slice(0, 16)}`;

/**
 * The routers registry (admin only), CloudStack's VirtualNetworkApplianceManager: a
 * router is stored only once its NICs are plugged (through the ovs-element, unless told
 * they are) and it runs its networks' configuration; each network is claimed by one
 * router atomically. A refused registration undoes its plugs and claims.
 */
export class RouterRegistry {
  constructor(
    private readonly store: VrStore,
    private readonly guru: GuruClient,
    private readonly pusher: Pusher,
    private readonly events: EventPublisher,
    private readonly element: ElementClient,
  ) {}

  async register(req: NewRouter, ctx: CommandContext): Promise<Router> {
    requireAdmin(ctx.role, "RegisterRouter");
    const id = routerIdOf(ctx.commandId);
    const again = await this.store.routers.get(id);
    if (again !== undefined) return toRouter(again.value);
    const given = req.nics ?? [];
    given.forEach((n, i) => {
      if (!req.networkIds.includes(n.networkId)) {
        throw invalidField(`nics/${i}/networkId`, `network ${n.networkId} is not one of the router's networkIds`);
      }
    });
    for (const networkId of req.networkIds) {
      if ((await this.guru.network(networkId)) === undefined) throw notFound("network", networkId);
    }
    const group = req.redundancyGroup;
    const peer = group === undefined ? undefined : await this.peerFor(req, group);
    const claimed: string[] = [];
    const plugged: RouterNic[] = [];
    try {
      for (const networkId of req.networkIds) {
        const claim = group === undefined ? { routerId: id } : { routerId: id, redundancyGroup: group };
        if ((await this.store.networkRouters.tryCreate(networkId, claim)) === undefined) {
          const holder = await this.store.networkRouters.get(networkId);
          // The pair's second member joins the claim of the first.
          if (peer !== undefined && holder?.value.redundancyGroup === group) continue;
          if (holder?.value.routerId !== id) {
            throw conflict(`network ${networkId} is served by router ${holder?.value.routerId ?? "?"} already`, {
              networkId,
              routerId: holder?.value.routerId,
            });
          }
        }
        claimed.push(networkId);
      }
      const nics: RouterNic[] = [];
      for (const networkId of req.networkIds) {
        const nic: RouterNic = given.find((n) => n.networkId === networkId) ?? { networkId };
        if (req.plugNics === false) {
          if (given.includes(nic)) nics.push(nic);
          continue;
        }
        const done = await this.element.plug({ id, hostId: req.hostId, vmId: req.vmId }, nic);
        // The element's MAC is the VM's when it found the VIF (XenServer) or was given one; a MAC it
        // generated for a named KVM device is not the interface's, so the router would not find it.
        const mac = nic.mac ?? (nic.hostInterface === undefined ? done.mac : undefined);
        const withNic: RouterNic = {
          ...nic,
          ...(mac === undefined ? {} : { mac }),
          nicId: done.id,
          mtu: done.mtu,
        };
        plugged.push(withNic);
        nics.push(withNic);
      }
      const at = new Date().toISOString();
      const record: RouterRecord = {
        id,
        ...req,
        nics,
        controlPort: req.controlPort ?? 3922,
        controlUser: req.controlUser ?? "root",
        transport: req.transport ?? "ssh",
        state: "Unreachable",
        generation: peer?.generation ?? 0,
        appliedGeneration: 0,
        ...(group === undefined
          ? {}
          : {
              vrrp: {
                priority: peer === undefined ? FIRST_PRIORITY : SECOND_PRIORITY,
              },
              vrrpState: "UNKNOWN" as const,
            }),
        createdAt: at,
        updatedAt: at,
      };
      const outcome = await this.pusher.pushNew(record);
      if (outcome.status !== "applied") throw outcome.failure.toCommandError();
      await this.store.routers.createIfAbsent(id, outcome.router);
      // The first member learns its peer (VRRP unicast), and both run one generation.
      const paired = peer === undefined ? outcome.router : ((await this.pusher.push(id))?.router ?? outcome.router);
      const router = toRouter(paired, await this.store.allRouters());
      await this.events.publish(RouterRegistered, { router }, { commandId: ctx.commandId });
      return router;
    } catch (err) {
      this.pusher.forget(id);
      for (const nic of plugged) await this.element.unplug(id, nic).catch(() => undefined);
      for (const networkId of claimed) await this.release(networkId, id);
      throw err;
    }
  }

  async get(routerId: string, ctx: CommandContext): Promise<Router> {
    requireAdmin(ctx.role, "GetRouter");
    const r = await this.record(routerId);
    return toRouter(r, r.redundancyGroup === undefined ? [] : await this.store.allRouters());
  }

  async list(ctx: CommandContext): Promise<Router[]> {
    requireAdmin(ctx.role, "ListRouters");
    const all = await this.store.allRouters();
    return all.map((r) => toRouter(r, all)).sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(routerId: string, ctx: CommandContext): Promise<void> {
    requireAdmin(ctx.role, "DeleteRouter");
    const r = await this.record(routerId);
    // The NICs first: if the element cannot unplug them, nothing is forgotten and a retry finishes.
    for (const nic of r.nics) await this.element.unplug(routerId, nic);
    await this.store.routers.delete(routerId);
    const rest = r.redundancyGroup === undefined ? [] : membersOf(await this.store.allRouters(), r.redundancyGroup);
    for (const networkId of r.networkIds) await this.release(networkId, routerId, rest[0]?.id);
    this.pusher.forget(routerId);
    // The member left alone forgets its peer (it holds the addresses if it did not already).
    if (rest[0] !== undefined) await this.pusher.push(rest[0].id);
    await this.events.publish(RouterDeleted, { routerId, name: r.name }, { commandId: ctx.commandId });
  }

  /**
   * Makes a single router the first member of a new group: stored as such (priority 250), its
   * networks' claims name the group (so its partner's registration joins them), then pushed:
   * keepalived, alone, takes the addresses after VRRP's takeover time (sdn-router stops
   * holding them itself), the only gap its networks see.
   */
  async join(routerId: string, group: string, ctx: CommandContext): Promise<Router> {
    requireAdmin(ctx.role, "JoinRedundancyGroup");
    const r = await this.record(routerId);
    if (r.redundancyGroup === group) return toRouter(r, await this.store.allRouters());
    if (r.redundancyGroup !== undefined) {
      throw conflict(`router ${r.name} is a member of group ${r.redundancyGroup}`, {
        redundancyGroup: r.redundancyGroup,
      });
    }
    if (r.transport !== "ssh") {
      throw invalidField("transport", "a redundant router's control address must reach its peer's: transport ssh");
    }
    if (membersOf(await this.store.allRouters(), group).length > 0) {
      throw conflict(`redundancy group ${group} has members: a router joins a new group`, { redundancyGroup: group });
    }
    const joined = await this.store.routers.update(routerId, (cur) =>
      cur === undefined || cur.redundancyGroup !== undefined
        ? cur
        : {
            ...cur,
            redundancyGroup: group,
            vrrp: { priority: FIRST_PRIORITY },
            vrrpState: "UNKNOWN" as const,
            updatedAt: new Date().toISOString(),
          },
    );
    if (joined?.redundancyGroup !== group) throw conflict(`router ${r.name} changed meanwhile: try again`, {});
    for (const networkId of r.networkIds) await this.claimFor(networkId, routerId, group);
    const pushed = (await this.pusher.push(routerId))?.router ?? joined;
    const router = toRouter(pushed, await this.store.allRouters());
    await this.events.publish(RouterUpdated, { router }, { commandId: ctx.commandId });
    return router;
  }

  async sync(routerId: string, ctx: CommandContext): Promise<Router> {
    requireAdmin(ctx.role, "SyncRouter");
    const outcome = await this.pusher.push(routerId);
    if (outcome === undefined) throw notFound("router", routerId);
    return toRouter(outcome.router);
  }

  private async record(routerId: string): Promise<RouterRecord> {
    const r = await this.store.routers.get(routerId);
    if (r === undefined) throw notFound("router", routerId);
    return r.value;
  }

  /** Names the group in a network's claim held by the router (compare-and-swap, retried on a concurrent change). */
  private async claimFor(networkId: string, routerId: string, group: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const claim = await this.store.networkRouters.get(networkId);
      if (claim?.value.routerId !== routerId || claim.value.redundancyGroup === group) return;
      const next = { ...claim.value, redundancyGroup: group };
      if ((await this.store.networkRouters.tryUpdate(networkId, next, claim.revision)) !== undefined) return;
    }
    throw conflict(`network ${networkId}'s claim keeps changing: try again`, { networkId });
  }

  /** Releases a network's claim if this router still holds it; to the pair's other member when it has one. */
  private async release(networkId: string, routerId: string, heir?: string): Promise<void> {
    const claim = await this.store.networkRouters.get(networkId);
    if (claim?.value.routerId !== routerId) return;
    if (heir === undefined) await this.store.networkRouters.tryDelete(networkId, claim.revision);
    else await this.store.networkRouters.tryUpdate(networkId, { ...claim.value, routerId: heir }, claim.revision);
  }

  /**
   * The member already registered in the router's redundancy group, if any: a pair has two
   * members on two hosts serving the same networks, reached directly (VRRP runs between
   * their control addresses).
   */
  private async peerFor(req: NewRouter, group: string): Promise<RouterRecord | undefined> {
    if ((req.transport ?? "ssh") !== "ssh") {
      throw invalidField("transport", "a redundant router's control address must reach its peer's: transport ssh");
    }
    const members = membersOf(await this.store.allRouters(), group);
    if (members.length >= 2)
      throw conflict(`redundancy group ${group} has two routers already`, { redundancyGroup: group });
    const peer = members[0];
    if (peer === undefined) return undefined;
    const same = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();
    if (!same(peer.networkIds, req.networkIds)) {
      throw invalidField(
        "networkIds",
        `the members of group ${group} serve the same networks: ${peer.networkIds.join(", ")}`,
      );
    }
    if (peer.hostId === req.hostId) {
      throw invalidField("hostId", `router ${peer.name} of group ${group} runs on that host: a pair needs two hosts`);
    }
    return peer;
  }
}
