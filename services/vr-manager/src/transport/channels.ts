import type { NatsConnection } from "@nats-io/transport-node";
import type { SshIdentity } from "../identity.js";
import type { RouterRecord } from "../store.js";
import type { RouterChannel } from "./channel.js";
import { RelayChannel } from "./relay-channel.js";
import { SshChannel } from "./ssh-channel.js";

export interface ChannelSettings {
  nc: NatsConnection;
  identity: SshIdentity;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  relayKeyFile?: string;
}

type Target = Pick<
  RouterRecord,
  "id" | "hostId" | "controlAddress" | "controlPort" | "controlUser" | "hostKeyFingerprint" | "transport"
>;

const keyOf = (r: Target) =>
  [r.transport, r.hostId, r.controlAddress, r.controlPort, r.controlUser, r.hostKeyFingerprint].join("|");

/**
 * One channel per router, reused across pushes (one SSH connection per router); a router
 * whose address, key or transport changed gets a new one, and a failed one is dropped.
 */
export class Channels {
  private readonly open = new Map<string, { key: string; channel: RouterChannel }>();

  constructor(private readonly s: ChannelSettings) {}

  for(r: Target): RouterChannel {
    const key = keyOf(r);
    const cached = this.open.get(r.id);
    if (cached !== undefined && cached.key === key) return cached.channel;
    cached?.channel.close();
    const channel = this.create(r);
    this.open.set(r.id, { key, channel });
    return channel;
  }

  /** Forgets a router's channel (after a failure, or when the router is deleted). */
  drop(routerId: string): void {
    this.open.get(routerId)?.channel.close();
    this.open.delete(routerId);
  }

  closeAll(): void {
    for (const id of [...this.open.keys()]) this.drop(id);
  }

  private create(r: Target): RouterChannel {
    if (r.transport === "host-relay") {
      return new RelayChannel({
        nc: this.s.nc,
        hostId: r.hostId,
        address: r.controlAddress,
        port: r.controlPort,
        username: r.controlUser,
        hostKeyFingerprint: r.hostKeyFingerprint,
        ...(this.s.relayKeyFile === undefined ? {} : { identityFile: this.s.relayKeyFile }),
        commandTimeoutMs: this.s.commandTimeoutMs,
      });
    }
    return new SshChannel({
      host: r.controlAddress,
      port: r.controlPort,
      username: r.controlUser,
      privateKey: this.s.identity.privateKey,
      hostKeyFingerprint: r.hostKeyFingerprint,
      connectTimeoutMs: this.s.connectTimeoutMs,
      commandTimeoutMs: this.s.commandTimeoutMs,
    });
  }
}
