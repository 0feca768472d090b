import { keyOrder, readPage, type CommandContext, type EventPublisher, type Page, type PageRequest } from "@sdn/bus";
import {
  CommandError,
  DestroyBridge,
  isXapiHypervisor,
  ListVms,
  NicPlugged,
  NicUnplugged,
  PlugVif,
  UnplugVif,
  type Host,
  type Nic,
  type NicRole,
  type PlugNic,
  type RequestOf,
  type Tunnel,
  type UpdateNic,
} from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { AgentClient } from "./agent-client.js";
import type { Collaborators } from "./collaborators.js";
import type { ElementConfig } from "./config.js";
import { conflictingField, describeError, invalidField, notFound } from "./element-errors.js";
import type { Mesh } from "./mesh.js";
import { guestData, updateGuestData } from "./nic-guest-data.js";
import { plugRefusal } from "./plug-refusal.js";
import { tunnelKeyOf } from "./encapsulation.js";
import { NicClaims, type Held } from "./nic-claims.js";
import { guestMtu, nicIdFor } from "./nic-identity.js";
import { joinMembership, leaveMembership, setMemberState } from "./nic-membership.js";
import { canHandle } from "./providers.js";
import { deviceClaimKey, macClaimKey, nicKey, type ElementStore, type MemberNic } from "./store.js";
import { VmOwners } from "./vm-owners.js";

export interface NicManagerDeps {
  store: ElementStore;
  mesh: Mesh;
  agents: AgentClient;
  peers: Collaborators;
  events: EventPublisher;
  config: ElementConfig;
  logger: Logger;
}

/** What a plug or unplug did besides its main work, for the answer's one-line summary. */
export interface NicOutcome {
  nic: Nic;
  notes: string[];
}

/** The lookup's outcome, awaited later; a failure nobody awaits is no unhandled rejection. */
const settledLater = <T>(p: Promise<T>): Promise<T> => {
  p.catch(() => undefined);
  return p;
};

/**
 * NIC plug and unplug (CloudStack's OvsElement.prepare / release). Every step is
 * idempotent and keyed by the NIC id, which is derived from the command id: a command
 * redelivered after a crash walks the same steps and finishes the same NIC. A failure on
 * the NIC's own host undoes what the plug did (port, mesh membership, address, claims).
 */
export class NicManager {
  private readonly owners: VmOwners;
  private readonly claims: NicClaims;

  constructor(private readonly d: NicManagerDeps) {
    this.owners = new VmOwners(d.store.vmOwners);
    this.claims = new NicClaims(d);
  }

  /** Counted as on its way to the network's mesh pass until it asks for it (see Arrivals). */
  async plug(req: RequestOf<typeof PlugNic>, ctx: CommandContext): Promise<NicOutcome> {
    const arrived = this.d.mesh.arrive(req.networkId);
    try {
      return await this.plugOnItsWay(req, ctx, arrived);
    } finally {
      arrived();
    }
  }

  private async plugOnItsWay(
    req: RequestOf<typeof PlugNic>,
    ctx: CommandContext,
    arrived: () => void,
  ): Promise<NicOutcome> {
    const nicId = nicIdFor(ctx.commandId);
    const role: NicRole = req.role ?? "guest";
    if (role === "router" && ctx.role !== "admin") {
      throw new CommandError("FORBIDDEN", "only admins plug router NICs (they take the network's gateway address)");
    }
    // Every lookup at once (a plug waits on each); the network's verdict still comes first.
    // The NIC and its member entry exist only when this command ran before (a redelivery).
    const hostLookup = settledLater(this.d.peers.host(req.hostId));
    const earlierLookup = settledLater(this.d.store.nics.get(nicKey(req.networkId, nicId)));
    const memberLookup = settledLater(this.d.mesh.lookUp(req.networkId));
    let network = await this.d.peers.network(req.networkId, ctx);
    const verdict = canHandle(network, "Connectivity");
    if (!verdict.canHandle)
      throw new CommandError("UNPROCESSABLE", verdict.reason ?? "Ovs cannot connect this network");
    if (role === "router" && req.ip !== undefined && req.ip !== network.gateway) {
      throw invalidField("ip", `a router NIC takes the gateway address ${network.gateway} of network ${network.name}`);
    }
    // Keys are network ids: a lookup by another spelling of the network reads again.
    const sameId = network.id === req.networkId;
    const earlier = (await (sameId ? earlierLookup : this.d.store.nics.get(nicKey(network.id, nicId))))?.value;
    if (earlier?.state === "Plugged") return { nic: earlier, notes: ["already plugged"] };
    const host = await hostLookup;
    if (host.state !== "Up") {
      throw conflictingField("hostId", `host ${host.name} is ${host.state}; NICs are plugged on Up hosts only`);
    }
    if (network.state !== "Implemented" || tunnelKeyOf(network) === undefined) {
      network = await this.d.peers.implement(network.id, ctx);
    }
    const key = tunnelKeyOf(network);
    if (key === undefined) throw new CommandError("CONFLICT", `network ${network.name} has no tunnel key`);

    const membership = await (sameId ? memberLookup : this.d.mesh.lookUp(network.id));
    const member = membership?.value.hosts[req.hostId]?.nics[nicId];
    // The VM's owner first: another account learns nothing of the VM's devices.
    await this.owners.claim(req.vmId, network.accountId, nicId);
    let held: Held;
    try {
      const located = earlier ?? member ?? (await this.locateDevice(req, host, nicId));
      const mac = earlier?.mac ?? member?.mac ?? req.mac ?? located.mac;
      held = await this.claims.hold(network, req, role, nicId, { device: located.device, mac }, ctx);
    } catch (err) {
      await this.owners.release(req.vmId, nicId);
      throw err;
    }
    const { device, mac, address } = held;

    const now = new Date().toISOString();
    // Routers forward others' traffic: their ports are not held to one address.
    const portSecurity = earlier?.portSecurity ?? req.portSecurity ?? role === "guest";
    const entry: MemberNic = {
      device,
      mac,
      vmId: req.vmId,
      ip: address.ip,
      portSecurity,
      state: "Plugging",
      since: now,
    };
    await joinMembership(this.d, network, key, host, nicId, entry);
    const notes: string[] = [];
    let nic: Nic = {
      id: nicId,
      networkId: network.id,
      accountId: network.accountId,
      vmId: req.vmId,
      hostId: host.id,
      role,
      device,
      ip: address.ip,
      prefixLength: address.prefixLength,
      gateway: network.gateway,
      mac,
      portSecurity,
      bridge: earlier?.bridge ?? device,
      mtu: guestMtu(network.mtu, this.d.config.SDN_UNDERLAY_MTU, network.encapsulation),
      state: "Plugging",
      ...guestData(earlier ?? req),
      createdAt: earlier?.createdAt ?? now,
      updatedAt: now,
    };
    try {
      await this.d.store.nics.put(nicKey(network.id, nicId), nic);
      arrived();
      // The pass sets the host's bridge up with its tunnels (ApplyTunnels with ensureBridge).
      await this.converged(network.id, host.id, notes);
      const plugged = await this.d.agents
        .call(host.id, PlugVif, {
          networkId: network.id,
          device,
          nicId,
          mac,
          vmId: req.vmId,
          ip: address.ip,
          portSecurity,
          ensureBridge: true,
        })
        .catch((err: unknown) => {
          throw plugRefusal(err, device, host.name);
        });
      nic = { ...nic, bridge: plugged.bridge };
      if (plugged.bridgeCreated === true) {
        // The pass skipped the host (its record said its set was there) but the bridge was
        // gone: the new, empty bridge gets its tunnels now.
        this.d.mesh.bridgeCreated(network.id, host.id);
        await this.converged(network.id, host.id, []);
      }
    } catch (err) {
      await this.undo(nic, ctx).catch((undoErr: unknown) =>
        this.d.logger.error({ err: describeError(undoErr), nicId }, "could not undo a failed plug"),
      );
      throw err;
    }
    await setMemberState(this.d.mesh, network.id, host.id, nicId, "Plugged");
    nic = { ...nic, state: "Plugged", updatedAt: new Date().toISOString() };
    await this.d.store.nics.put(nicKey(network.id, nicId), nic);
    await this.d.events.publish(
      NicPlugged,
      { nic },
      { accountId: nic.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.NicPlugged` },
    );
    return { nic, notes };
  }

  /** A mesh pass that began after now; throws the own host's failure, notes the peers'. */
  private async converged(networkId: string, hostId: string, notes: string[]): Promise<void> {
    const pass = await this.d.mesh.converge(networkId);
    const own = pass.hosts.get(hostId);
    if (own !== undefined && !own.ok) throw own.error;
    // The own host succeeded here, so every failure is a peer's.
    if (pass.failures > 0) notes.push(`tunnels of ${pass.failures} peer host(s) failed and are retried`);
  }

  async unplug(networkId: string, nicId: string, ctx: CommandContext): Promise<NicOutcome> {
    const network = await this.d.peers.network(networkId, ctx);
    const found = await this.d.store.nics.get(nicKey(network.id, nicId));
    if (found === undefined) throw notFound("NIC", nicId);
    let nic = found.value;
    if (nic.role === "router" && ctx.role !== "admin") {
      throw new CommandError(
        "FORBIDDEN",
        `NIC ${nicId} is the network's virtual router NIC (it holds the gateway); only admins unplug it`,
      );
    }
    if (nic.state === "Plugging" && Date.now() - Date.parse(nic.updatedAt) < this.d.config.SDN_AGENT_TIMEOUT_MS * 4) {
      throw new CommandError("CONFLICT", `NIC ${nicId} is still being plugged; unplug it once the plug has answered`);
    }
    nic = { ...nic, state: "Unplugging", updatedAt: new Date().toISOString() };
    await this.d.store.nics.put(nicKey(network.id, nicId), nic);
    await setMemberState(this.d.mesh, network.id, nic.hostId, nicId, "Unplugging");
    const notes = await this.detach(nic, ctx);
    const gone: Nic = { ...nic, state: "Unplugged", updatedAt: new Date().toISOString() };
    await this.d.events.publish(
      NicUnplugged,
      { nic: gone },
      { accountId: nic.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.NicUnplugged` },
    );
    return { nic: gone, notes };
  }

  /** Changes a guest NIC's hostname, user data or SSH keys (what its router serves it). */
  update(req: RequestOf<typeof UpdateNic>, ctx: CommandContext): Promise<Nic> {
    return updateGuestData(this.d, req, ctx);
  }

  /** One page of the network's NICs, ordered by NIC id (the key: no need to read them all to sort). */
  async list(networkId: string, ctx: CommandContext, page: PageRequest): Promise<Page<Nic>> {
    const network = await this.d.peers.network(networkId, ctx);
    return readPage(this.d.store.nics, page, {
      filter: `${network.id}.>`,
      isKey: (key) => key.startsWith(`${network.id}.`),
      itemsOf: (_key, nic) => [nic],
    });
  }

  /**
   * One page of the network's tunnel rows, ordered by from and to. Paged by tunnel set (one
   * per host, N-1 rows in a mesh of N), so a page never splits a set.
   */
  async tunnels(networkId: string, ctx: CommandContext, page: PageRequest): Promise<Page<Tunnel>> {
    const network = await this.d.peers.network(networkId, ctx);
    return readPage(this.d.store.tunnels, page, {
      filter: `${network.id}.>`,
      isKey: (key) => key.startsWith(`${network.id}.`),
      itemsPerEntry: (sets) => sets - 1,
      itemsOf: (_key, s) =>
        [...s.rows]
          .sort((a, b) => keyOrder(a.to, b.to))
          .map((r): Tunnel => ({
            networkId: s.networkId,
            from: s.from,
            to: r.to,
            remoteIp: r.remoteIp,
            key: s.key,
            encapsulation: network.encapsulation,
            port: r.port,
            state: s.state === "Established" && r.port === null ? "Created" : s.state,
            lastError: s.lastError,
            attempts: s.attempts,
            nextRetryAt: s.nextRetryAt,
            updatedAt: s.updatedAt,
          })),
    });
  }

  /** The VM's device on the host: given, or (XAPI) the VM's VIF found through ListVms. */
  private async locateDevice(
    req: RequestOf<typeof PlugNic>,
    host: Host,
    nicId: string,
  ): Promise<{ device: string; mac?: string }> {
    if (req.hostInterface !== undefined) return { device: req.hostInterface };
    if (!isXapiHypervisor(host.hypervisor)) {
      throw invalidField(
        "hostInterface",
        `host ${host.name} is a KVM host: name the VM's device on it (its tap or veth) in hostInterface`,
      );
    }
    const { vms } = await this.d.agents.call(host.id, ListVms, {});
    const vm = vms.find((v) => v.id === req.vmId);
    if (vm === undefined) throw invalidField("vmId", `no VM ${req.vmId} is resident on host ${host.name}`);
    for (const n of vm.nics) {
      const claim = await this.d.store.claims.get(deviceClaimKey(host.id, n.device));
      if (claim === undefined || claim.value.nicId === nicId) {
        return { device: n.device, ...(n.mac === null ? {} : { mac: n.mac.toLowerCase() }) };
      }
    }
    throw invalidField("vmId", `every VIF of VM ${req.vmId} on host ${host.name} is already plugged`);
  }

  /**
   * Takes the NIC out: membership first (the serialization point decides whether it was
   * the host's last NIC), then the port, or the whole bridge and the peers' tunnels to the
   * host; then the address and the claims. Each step is idempotent, so a retry finishes it.
   */
  private async detach(nic: Nic, ctx: CommandContext): Promise<string[]> {
    const notes: string[] = [];
    const lastOnHost = await leaveMembership(this.d.mesh, nic.networkId, nic.hostId, nic.id);
    const bestEffort = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (err) {
        // The host may be gone; reconciliation removes what is left when it comes back. The
        // agent's words may name host internals: they go to the log, not into the answer.
        this.d.logger.warn({ err: describeError(err), nicId: nic.id }, `${what} failed`);
        notes.push(`${what} failed; reconciliation will clean up`);
      }
    };
    if (lastOnHost) {
      await bestEffort(`removing the bridge on host ${nic.hostId}`, () =>
        this.d.agents.call(nic.hostId, DestroyBridge, { networkId: nic.networkId }),
      );
      await this.d.mesh.converge(nic.networkId);
      notes.push(`host ${nic.hostId} left the network's mesh`);
    } else {
      await bestEffort(`unplugging ${nic.device}`, () =>
        this.d.agents.call(nic.hostId, UnplugVif, { networkId: nic.networkId, device: nic.device }),
      );
    }
    if (nic.role === "guest") await this.d.peers.release(nic.networkId, nic.id, ctx);
    await this.d.store.claims.delete(deviceClaimKey(nic.hostId, nic.device));
    await this.d.store.claims.delete(macClaimKey(nic.networkId, nic.mac));
    await this.owners.release(nic.vmId, nic.id);
    await this.d.store.nics.delete(nicKey(nic.networkId, nic.id));
    return notes;
  }

  /** Rolls a failed plug back; the NIC is then as if never plugged. */
  private async undo(nic: Nic, ctx: CommandContext): Promise<void> {
    const notes = await this.detach(nic, ctx);
    this.d.logger.warn({ nicId: nic.id, notes }, "plug failed and was undone");
  }
}
