import { bucket, bucketStore } from "@sdn/bus";
import type { InterNetworkRoute, Router, RuleKind, RuleOfKind } from "@sdn/contracts";

/**
 * A router as stored: the resource plus the digests (configuration without generation)
 * of what the router last confirmed and of what it last refused, so a check can tell
 * whether the desired configuration moved on since.
 */
export type RouterRecord = Router & {
  pushedDigest?: string;
  refusedDigest?: string;
  /** A pair member's VRRP parameters: its priority. */
  vrrp?: { priority: number };
};

/**
 * `<networkId>` → the router serving it; created atomically, so a network gets one router
 * (or one redundancy group: `routerId` is then one of its members, `master` the member last
 * seen MASTER of the network, `alarm` what the pair's last check found wrong).
 */
export interface NetworkClaim {
  routerId: string;
  redundancyGroup?: string;
  master?: string;
  alarm?: "no-master" | "two-masters";
}

/** `<networkId>` → every L3 rule of the network, changed by compare-and-swap. */
export type RuleBook = { networkId: string; accountId: string; egressDefault: "allow" | "deny" } & {
  [K in RuleKind]: RuleOfKind[K][];
};

/** `<routerId>` → which replica pushes to the router now, and until when (a push lock). */
export interface PushLock {
  holder: string;
  until: number;
}

/** `ssh` → the vr-manager's SSH key, the private half sealed. */
export interface StoredIdentity {
  sealedPrivateKey: string;
  publicKey: string;
}

export const emptyRuleBook = (networkId: string, accountId: string): RuleBook => ({
  networkId,
  accountId,
  egressDefault: "allow",
  portForwards: [],
  staticNats: [],
  firewallRules: [],
  egressRules: [],
  loadBalancers: [],
});

/** Key of a pair of networks: the two ids sorted, so either side finds it. */
export const pairKey = (a: string, b: string): string => (a < b ? `${a}.${b}` : `${b}.${a}`);

const VR_BUCKETS = {
  routers: bucket<RouterRecord>("sdn_vr_routers"),
  networkRouters: bucket<NetworkClaim>("sdn_vr_network_routers"),
  rules: bucket<RuleBook>("sdn_vr_rules"),
  routes: bucket<InterNetworkRoute>("sdn_vr_routes"),
  locks: bucket<PushLock>("sdn_vr_locks"),
  identity: bucket<StoredIdentity>("sdn_vr_identity"),
};

/**
 * The vr-manager's state in JetStream KV: one bucket per kind of record, every write a
 * compare-and-swap or an atomic create, nothing cached, so replicas never contradict.
 */
export class VrStore extends bucketStore(VR_BUCKETS) {
  async allRouters(): Promise<RouterRecord[]> {
    return (await this.routers.entries()).map((e) => e.value);
  }

  /** The routes that involve a network (either side of the pair). */
  async routesOf(networkId: string): Promise<InterNetworkRoute[]> {
    const [left, right] = await Promise.all([
      this.routes.entries(`${networkId}.*`),
      this.routes.entries(`*.${networkId}`),
    ]);
    return [...left, ...right].map((e) => e.value);
  }
}
