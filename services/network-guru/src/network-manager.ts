import { readPage, type CommandContext, type EventPublisher, type Page, type PageRequest } from "@sdn/bus";
import {
  type AddressRange,
  type CreateNetwork,
  DEFAULT_MTU,
  defaultDomain,
  type Encapsulation,
  type EventDataOf,
  type EventDefinition,
  formatCidr,
  formatIpv4,
  type Network,
  NetworkDeleted,
  NetworkDesigned,
  NetworkImplemented,
  NetworkShutdown,
  NetworkUpdated,
  type NetworkTunnelHealth,
  type RequestOf,
  type SealedSecret,
  type UpdateNetwork,
} from "@sdn/contracts";
import { createHash } from "node:crypto";
import { conflict, conflictingField, nameSome, notFound, tooMuchContention } from "./guru-errors.js";
import type { PskSealer } from "./ipsec-psk.js";
import type { KeyPool } from "./key-pool.js";
import type { NetworkView } from "./network-view.js";
import { checkDns, designPlan } from "./network-plan.js";
import type { GuruStore, NetworkRecord } from "./store.js";
import { canSee, ownerFor } from "./tenancy.js";

const ATTEMPTS = 10;
/** Network ids as idFromCommand makes them (and as the NetworkId schema admits). */
const NETWORK_KEY = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A UUID derived from the command id: a redelivered CreateNetwork finds the network it made. */
const idFromCommand = (commandId: string): string => {
  const h = createHash("sha256").update(`network/${commandId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** The record if the caller may see it; NOT_FOUND otherwise (existence is never revealed). */
const visible = (
  networkId: string,
  ctx: CommandContext,
  e: { value: NetworkRecord; revision: number } | undefined,
): { record: NetworkRecord; revision: number } => {
  if (e === undefined || !canSee(ctx, e.value.accountId)) throw notFound("network", networkId);
  return { record: e.value, revision: e.revision };
};

/** The resource as answered: the stored record without its internal fields. */
export const toNetwork = (r: NetworkRecord): Network => {
  // The sealed key stays inside the guru: only GetNetworkTunnelSecret answers it.
  const { restoreState: _restore, sealedPsk: _psk, ...network } = r;
  return network;
};

/** The key a network holds (its GRE key, or its VNI when vxlan), if any. */
export const keyOf = (r: NetworkRecord): number | undefined => (r.encapsulation === "vxlan" ? r.vni : r.greKey);

/** The record's key fields as its encapsulation names them. */
const keyFields = (encapsulation: Encapsulation, key: number) =>
  encapsulation === "vxlan"
    ? { vni: key, broadcastUri: `vxlan://${key}` }
    : { greKey: key, broadcastUri: `gre://${key}` };

/** The released key as the answers and events name it. */
const releasedKey = (encapsulation: Encapsulation, key: number) =>
  encapsulation === "vxlan" ? { releasedVni: key } : { releasedGreKey: key };

/** What holds a network in place: NICs with addresses and public IPs. */
export interface NetworkDependents {
  nics: { nicId: string; ip: string }[];
  publicIps: { id: string; ip: string }[];
}

/**
 * CloudStack's NetworkGuru lifecycle: design (Allocated) → implement (takes a key from the
 * pool of its encapsulation: a GRE key, or a VNI; Implemented) → shutdown (returns the key;
 * Shutdown) → trash. Every transition is a
 * compare-and-swap on the network's record; a lost race re-reads and decides again.
 */
export class NetworkManager {
  constructor(
    private readonly store: GuruStore,
    private readonly pools: Readonly<Record<Encapsulation, KeyPool>>,
    private readonly events: EventPublisher,
    /** The public IPs a network holds (owned by the public IPAM). */
    private readonly publicIpsOf: (networkId: string) => Promise<{ id: string; ip: string }[]>,
    /** The NICs holding an address on a network, every claim acknowledged before included (the guest IPAM's). */
    private readonly nicsOf: (networkId: string) => Promise<{ nicId: string; ip: string }[]>,
    /** Seals a new encrypted network's pre-shared key to the agents. */
    private readonly sealPsk: PskSealer,
    /** The watched copy reads are answered from (mutations read KV: they need the revision to swap). */
    private readonly view: NetworkView,
  ) {}

  /** Reads a network the caller may see; NOT_FOUND otherwise (existence is never revealed). */
  async getVisible(networkId: string, ctx: CommandContext): Promise<{ record: NetworkRecord; revision: number }> {
    return visible(networkId, ctx, await this.store.networks.get(networkId));
  }

  /** getVisible for a read (GetNetwork): from the watched copy when it is fresh and holds the record, else KV. */
  async read(networkId: string, ctx: CommandContext): Promise<NetworkRecord> {
    return visible(networkId, ctx, this.view.get(networkId) ?? (await this.store.networks.get(networkId))).record;
  }

  async design(req: RequestOf<typeof CreateNetwork>, ctx: CommandContext): Promise<Network> {
    const accountId = ownerFor(ctx, req.accountId);
    const plan = designPlan(req.cidr, req.gateway);
    checkDns(req.dns ?? []);
    const now = new Date().toISOString();
    const id = idFromCommand(ctx.commandId);
    const encryption = req.encryption ?? "none";
    const record: NetworkRecord = {
      id,
      accountId,
      name: req.name,
      ...(req.description === undefined ? {} : { description: req.description }),
      cidr: formatCidr(plan.prefix),
      gateway: formatIpv4(plan.gateway),
      dns: req.dns ?? [],
      domain: req.domain ?? defaultDomain({ id, name: req.name }),
      mtu: req.mtu ?? DEFAULT_MTU,
      encapsulation: req.encapsulation ?? "gre",
      encryption,
      ...(encryption === "ipsec" ? { sealedPsk: await this.sealPsk(id) } : {}),
      state: "Allocated",
      excludedRanges: [],
      createdAt: now,
      updatedAt: now,
    };
    if ((await this.store.networks.tryCreate(record.id, record)) === undefined) {
      // Redelivered: this command already designed it.
      return toNetwork((await this.getVisible(record.id, ctx)).record);
    }
    await this.publish(NetworkDesigned, { network: toNetwork(record) }, ctx, accountId);
    return toNetwork(record);
  }

  /** One page of the networks the caller sees, ordered by id (the key: no need to read them all to sort). */
  async list(ctx: CommandContext, accountId: string | undefined, page: PageRequest): Promise<Page<Network>> {
    return readPage(this.store.networks, page, {
      filter: ">",
      isKey: (key) => NETWORK_KEY.test(key),
      itemsOf: (_key, n) =>
        canSee(ctx, n.accountId) && (accountId === undefined || n.accountId === accountId) ? [toNetwork(n)] : [],
    });
  }

  async update(req: RequestOf<typeof UpdateNetwork>, ctx: CommandContext): Promise<Network> {
    if (req.dns !== undefined) checkDns(req.dns);
    return this.change(req.networkId, ctx, (n) => {
      if (req.encapsulation !== undefined && req.encapsulation !== n.encapsulation) {
        throw conflictingField(
          "encapsulation",
          `network ${n.name} is on ${n.encapsulation}; the encapsulation is fixed once designed ` +
            "(design a new network to use another)",
        );
      }
      const encryption = n.encryption ?? "none";
      if (req.encryption !== undefined && req.encryption !== encryption) {
        throw conflictingField(
          "encryption",
          `network ${n.name} has encryption ${encryption}; the encryption is fixed once designed ` +
            "(design a new network to use another)",
        );
      }
      return {
        ...n,
        ...(req.name === undefined ? {} : { name: req.name }),
        ...(req.description === undefined ? {} : { description: req.description }),
        ...(req.dns === undefined ? {} : { dns: req.dns }),
        ...(req.domain === undefined ? {} : { domain: req.domain }),
        ...(req.mtu === undefined ? {} : { mtu: req.mtu }),
      };
    });
  }

  /** Adds or removes an excluded range by a change function; refused while the network is being deleted. */
  async changeExclusions(
    networkId: string,
    ctx: CommandContext,
    change: (ranges: AddressRange[]) => AddressRange[] | undefined,
  ): Promise<{ network: Network; changed: boolean }> {
    let changed = false;
    const network = await this.change(
      networkId,
      ctx,
      (n) => {
        const next = change(n.excludedRanges);
        changed = next !== undefined;
        return next === undefined ? undefined : { ...n, excludedRanges: next };
      },
      false,
    );
    return { network, changed };
  }

  /** An encrypted network's pre-shared key, still sealed to the agents (admins only: the element passes it on). */
  async tunnelSecret(networkId: string, ctx: CommandContext): Promise<{ networkId: string; sealedPsk: SealedSecret }> {
    const { record } = await this.getVisible(networkId, ctx);
    if (record.encryption !== "ipsec" || record.sealedPsk === undefined) {
      throw notFound("IPsec key of network", networkId);
    }
    return { networkId, sealedPsk: record.sealedPsk };
  }

  /**
   * Records the element's summary of the network's tunnel health. Not a change of the
   * network's design: updatedAt stays and no NetworkUpdated is published (TunnelDown /
   * TunnelUp say it). A summary older than the recorded one is dropped.
   */
  async recordTunnelHealth(networkId: string, health: NetworkTunnelHealth, ctx: CommandContext): Promise<boolean> {
    for (let i = 0; i < ATTEMPTS; i++) {
      const { record, revision } = await this.getVisible(networkId, ctx);
      if (record.tunnelHealth !== undefined && record.tunnelHealth.changedAt > health.changedAt) return false;
      if (
        (await this.store.networks.tryUpdate(networkId, { ...record, tunnelHealth: health }, revision)) !== undefined
      ) {
        return true;
      }
    }
    throw tooMuchContention(`network ${networkId}`);
  }

  async announceUpdate(network: Network, ctx: CommandContext): Promise<void> {
    await this.publish(NetworkUpdated, { network }, ctx, network.accountId);
  }

  async implement(networkId: string, ctx: CommandContext): Promise<Network> {
    let claimed: number | undefined;
    let pool: KeyPool | undefined;
    try {
      for (let i = 0; i < ATTEMPTS; i++) {
        const { record, revision } = await this.getVisible(networkId, ctx);
        if (record.state === "Implemented") return toNetwork(record);
        if (record.state === "Destroy") throw this.beingDeleted(record);
        pool = this.poolOf(record);
        // Shutdown with a key: a shutdown is in progress or was interrupted; keep the key.
        const key = keyOf(record) ?? (claimed ??= await pool.claim(networkId, ctx.commandId));
        const next: NetworkRecord = {
          ...record,
          state: "Implemented",
          ...keyFields(record.encapsulation, key),
          updatedAt: new Date().toISOString(),
        };
        if ((await this.store.networks.tryUpdate(networkId, next, revision)) !== undefined) {
          if (key === claimed) claimed = undefined;
          await this.publish(NetworkImplemented, { network: toNetwork(next) }, ctx, record.accountId);
          return toNetwork(next);
        }
      }
      throw tooMuchContention(`network ${networkId}`);
    } finally {
      // A key this command took but did not record (lost race, refusal): back to the pool.
      if (claimed !== undefined) await pool?.releaseOwnClaim(claimed, ctx.commandId);
    }
  }

  async shutdown(networkId: string, ctx: CommandContext): Promise<Network> {
    for (let i = 0; i < ATTEMPTS; i++) {
      let { record, revision } = await this.getVisible(networkId, ctx);
      if (record.state === "Allocated") {
        throw conflict(`network ${record.name} (${networkId}) was never implemented; there is nothing to shut down`);
      }
      if (record.state === "Destroy") throw this.beingDeleted(record);
      if (record.state === "Shutdown" && keyOf(record) === undefined) return toNetwork(record);
      if (record.state === "Implemented") {
        // Step 1: mark it Shutdown while it still records its key, so a NIC reserved from
        // now on is seen by the check below or finds the network Shutdown.
        const marked: NetworkRecord = { ...record, state: "Shutdown", updatedAt: new Date().toISOString() };
        const rev = await this.store.networks.tryUpdate(networkId, marked, revision);
        if (rev === undefined) continue;
        ({ record, revision } = { record: marked, revision: rev });
      }
      const nics = await this.nicsOf(networkId);
      if (nics.length > 0) {
        await this.store.networks.tryUpdate(networkId, { ...record, state: "Implemented" }, revision);
        throw conflict(
          `network ${record.name} (${networkId}) still has ${nics.length} NIC address(es): ` +
            `${nameSome(nics.map((n) => `${n.nicId} ${n.ip}`))}; release them before shutting it down`,
          { nics },
        );
      }
      const key = keyOf(record) as number;
      const { greKey: _k, vni: _v, broadcastUri: _b, ...rest } = record;
      const done: NetworkRecord = { ...rest, state: "Shutdown", updatedAt: new Date().toISOString() };
      if ((await this.store.networks.tryUpdate(networkId, done, revision)) === undefined) continue;
      // Only now that the record no longer names the key may another network take it.
      await this.poolOf(record).release(key, networkId);
      await this.publish(
        NetworkShutdown,
        { network: toNetwork(done), ...releasedKey(record.encapsulation, key) },
        ctx,
        record.accountId,
      );
      return toNetwork(done);
    }
    throw tooMuchContention(`network ${networkId}`);
  }

  async delete(
    networkId: string,
    ctx: CommandContext,
  ): Promise<{ id: string; name: string; releasedGreKey?: number; releasedVni?: number }> {
    for (let i = 0; i < ATTEMPTS; i++) {
      let { record, revision } = await this.getVisible(networkId, ctx);
      if (record.state !== "Destroy") {
        // Mark first, check after: a NIC or public IP taken from now on sees Destroy and backs out.
        const marked: NetworkRecord = { ...record, state: "Destroy", restoreState: record.state };
        const rev = await this.store.networks.tryUpdate(networkId, marked, revision);
        if (rev === undefined) continue;
        ({ record, revision } = { record: marked, revision: rev });
      }
      const dependents: NetworkDependents = {
        nics: await this.nicsOf(networkId),
        publicIps: await this.publicIpsOf(networkId),
      };
      if (dependents.nics.length > 0 || dependents.publicIps.length > 0) {
        const { restoreState, ...rest } = record;
        await this.store.networks.tryUpdate(networkId, { ...rest, state: restoreState ?? "Allocated" }, revision);
        throw conflict(this.dependentsMessage(record, dependents), dependents);
      }
      if (!(await this.store.networks.tryDelete(networkId, revision))) continue;
      const key = keyOf(record);
      if (key !== undefined) await this.poolOf(record).release(key, networkId);
      const released = key === undefined ? {} : releasedKey(record.encapsulation, key);
      await this.publish(NetworkDeleted, { networkId, ...released }, ctx, record.accountId);
      return { id: networkId, name: record.name, ...released };
    }
    throw tooMuchContention(`network ${networkId}`);
  }

  private poolOf(record: NetworkRecord): KeyPool {
    return this.pools[record.encapsulation];
  }

  beingDeleted(record: NetworkRecord): Error {
    return conflict(`network ${record.name} (${record.id}) is being deleted`);
  }

  private dependentsMessage(record: NetworkRecord, d: NetworkDependents): string {
    const parts = [
      ...(d.nics.length > 0
        ? [`${d.nics.length} NIC address(es) (${nameSome(d.nics.map((n) => `${n.nicId} ${n.ip}`))})`]
        : []),
      ...(d.publicIps.length > 0
        ? [`${d.publicIps.length} public IP(s) (${nameSome(d.publicIps.map((p) => `${p.id} ${p.ip}`))})`]
        : []),
    ];
    return `network ${record.name} (${record.id}) still has ${parts.join(" and ")}; release them before deleting it`;
  }

  private async change(
    networkId: string,
    ctx: CommandContext,
    change: (n: NetworkRecord) => NetworkRecord | undefined,
    announce = true,
  ): Promise<Network> {
    for (let i = 0; i < ATTEMPTS; i++) {
      const { record, revision } = await this.getVisible(networkId, ctx);
      if (record.state === "Destroy") throw this.beingDeleted(record);
      const next = change(record);
      if (next === undefined) return toNetwork(record);
      const updated = { ...next, updatedAt: new Date().toISOString() };
      if ((await this.store.networks.tryUpdate(networkId, updated, revision)) !== undefined) {
        if (announce) await this.announceUpdate(toNetwork(updated), ctx);
        return toNetwork(updated);
      }
    }
    throw tooMuchContention(`network ${networkId}`);
  }

  private async publish<E extends EventDefinition>(
    def: E,
    data: EventDataOf<E>,
    ctx: CommandContext,
    accountId: string,
  ): Promise<void> {
    // Deterministic id: a redelivered command's event is dropped as a duplicate.
    await this.events.publish(def, data, {
      accountId,
      commandId: ctx.commandId,
      eventId: `${ctx.commandId}.${def.name}`,
    });
  }
}
