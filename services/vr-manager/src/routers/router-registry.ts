import type { CommandContext, EventPublisher } from "@sdn/bus";
import { RouterDeleted, RouterRegistered, type NewRouter, type Router, type RouterNic } from "@sdn/contracts";
import { createHash } from "node:crypto";
import type { Pusher } from "../apply/pusher.js";
import { conflict, invalidField, notFound, requireAdmin } from "../errors.js";
import type { GuruClient } from "../guru-client.js";
import type { RouterRecord, VrStore } from "../store.js";
import type { ElementClient } from "./element-client.js";

/** The resource without the vr-manager's bookkeeping. */
export const toRouter = (r: RouterRecord): Router => {
  const { pushedDigest: _p, refusedDigest: _r, ...router } = r;
  return router;
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
    const claimed: string[] = [];
    const plugged: RouterNic[] = [];
    try {
      for (const networkId of req.networkIds) {
        if ((await this.store.networkRouters.tryCreate(networkId, { routerId: id })) === undefined) {
          const holder = await this.store.networkRouters.get(networkId);
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
        generation: 0,
        appliedGeneration: 0,
        createdAt: at,
        updatedAt: at,
      };
      const outcome = await this.pusher.pushNew(record);
      if (outcome.status !== "applied") throw outcome.failure.toCommandError();
      await this.store.routers.createIfAbsent(id, outcome.router);
      const router = toRouter(outcome.router);
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
    return toRouter(await this.record(routerId));
  }

  async list(ctx: CommandContext): Promise<Router[]> {
    requireAdmin(ctx.role, "ListRouters");
    return (await this.store.allRouters()).map(toRouter).sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(routerId: string, ctx: CommandContext): Promise<void> {
    requireAdmin(ctx.role, "DeleteRouter");
    const r = await this.record(routerId);
    // The NICs first: if the element cannot unplug them, nothing is forgotten and a retry finishes.
    for (const nic of r.nics) await this.element.unplug(routerId, nic);
    await this.store.routers.delete(routerId);
    for (const networkId of r.networkIds) await this.release(networkId, routerId);
    this.pusher.forget(routerId);
    await this.events.publish(RouterDeleted, { routerId, name: r.name }, { commandId: ctx.commandId });
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

  /** Releases a network's claim if this router still holds it. */
  private async release(networkId: string, routerId: string): Promise<void> {
    const claim = await this.store.networkRouters.get(networkId);
    if (claim?.value.routerId === routerId) await this.store.networkRouters.tryDelete(networkId, claim.revision);
  }
}
