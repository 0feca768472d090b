import type { CommandContext } from "@sdn/bus";
import { CommandError, type Network, type NicRole, type PlugNic, type RequestOf } from "@sdn/contracts";
import type { Collaborators } from "./collaborators.js";
import { conflictingField } from "./element-errors.js";
import { generateMac } from "./nic-identity.js";
import { deviceClaimKey, macClaimKey, type ElementStore } from "./store.js";

const MAC_ATTEMPTS = 8;

/** What a plug holds on the element's side before the host works: device, MAC, address. */
export interface Held {
  device: string;
  mac: string;
  address: { ip: string; prefixLength: number };
}

/**
 * The device, MAC and address a plug holds. The three are claimed at once (a plug would
 * otherwise wait on three round trips in a row, the address one a durable call to the
 * guru); when one fails, what the others took is given back, and the first failure in the
 * order device, MAC, address is the answer (as when they were claimed one after another).
 */
export class NicClaims {
  constructor(private readonly d: { store: ElementStore; peers: Collaborators }) {}

  async hold(
    network: Network,
    req: RequestOf<typeof PlugNic>,
    role: NicRole,
    nicId: string,
    want: { device: string; mac: string | undefined },
    ctx: CommandContext,
  ): Promise<Held> {
    const { device } = want;
    const [dev, mac, address] = await Promise.allSettled([
      this.claimDevice(req.hostId, device, nicId, network.id),
      this.claimMac(network.id, nicId, want.mac),
      this.address(network, nicId, role, req.ip, ctx),
    ]);
    if (dev.status === "fulfilled" && mac.status === "fulfilled" && address.status === "fulfilled") {
      return { device, mac: mac.value, address: address.value };
    }
    await Promise.all([
      dev.status === "fulfilled" ? this.d.store.claims.delete(deviceClaimKey(req.hostId, device)) : undefined,
      mac.status === "fulfilled" ? this.d.store.claims.delete(macClaimKey(network.id, mac.value)) : undefined,
      address.status === "fulfilled" && role === "guest" ? this.d.peers.release(network.id, nicId, ctx) : undefined,
    ]);
    const failed = [dev, mac, address].find((r): r is PromiseRejectedResult => r.status === "rejected");
    throw failed?.reason;
  }

  private async claimDevice(hostId: string, device: string, nicId: string, networkId: string): Promise<void> {
    const key = deviceClaimKey(hostId, device);
    if (await this.d.store.claims.createIfAbsent(key, { nicId, networkId })) return;
    const held = await this.d.store.claims.get(key);
    if (held !== undefined && held.value.nicId !== nicId) {
      // Another account's NIC may hold it: say only that it is taken.
      throw conflictingField("hostInterface", `device ${device} on host ${hostId} is already plugged as another NIC`);
    }
  }

  /** Claims the MAC on the network: the given one (CONFLICT when taken) or a generated one. */
  private async claimMac(networkId: string, nicId: string, given: string | undefined): Promise<string> {
    for (let attempt = 0; attempt < MAC_ATTEMPTS; attempt++) {
      const mac = (given ?? generateMac(nicId, attempt)).toLowerCase();
      const key = macClaimKey(networkId, mac);
      if (await this.d.store.claims.createIfAbsent(key, { nicId, networkId })) return mac;
      const held = await this.d.store.claims.get(key);
      if (held === undefined || held.value.nicId === nicId) return mac;
      if (given !== undefined) {
        throw conflictingField("mac", `MAC ${mac} is already NIC ${held.value.nicId} on network ${networkId}`);
      }
    }
    throw new CommandError("CONFLICT", `no free MAC found for NIC ${nicId}; retry the request`);
  }

  /** A guest's address from the guru (idempotent by NIC id); a router's is the gateway. */
  private async address(
    network: Network,
    nicId: string,
    role: NicRole,
    ip: string | undefined,
    ctx: CommandContext,
  ): Promise<{ ip: string; prefixLength: number }> {
    if (role === "router") return { ip: network.gateway, prefixLength: Number(network.cidr.split("/")[1]) };
    const a = await this.d.peers.reserve({ networkId: network.id, nicId, ...(ip === undefined ? {} : { ip }) }, ctx);
    return { ip: a.ip, prefixLength: a.prefixLength };
  }
}
