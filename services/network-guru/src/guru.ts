import { isStreamNotFound, isTransient, type EventPublisher } from "@sdn/bus";
import type { NatsConnection } from "@nats-io/transport-node";
import type { GuruConfig } from "./config.js";
import { pskSealer } from "./ipsec-psk.js";
import { KeyPool } from "./key-pool.js";
import { GuestIpam } from "./guest-ipam.js";
import { migrateLegacyAddresses } from "./legacy-addresses.js";
import { NetworkManager } from "./network-manager.js";
import { NetworkView } from "./network-view.js";
import { PublicIpam } from "./public-ipam.js";
import { GuruStore } from "./store.js";
import { WatchedBlocks } from "./watched-blocks.js";

/**
 * Runs a replica's opening steps again while a bucket's stream is reported missing or the
 * JetStream API does not answer in time: replicas starting at once in a cluster create the
 * buckets together, and for a moment a server may not know a stream another just created (the
 * watch and listings of the address blocks at start meet it). Five seconds of pauses at most;
 * anything else fails the start.
 */
const whileStreamsSettle = async <T>(open: () => Promise<T>): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (err) {
      if (attempt >= 20 || !(isStreamNotFound(err) || isTransient(err))) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
};

/** One replica's managers, built on its KV store. */
export class Guru {
  private constructor(
    readonly networks: NetworkManager,
    readonly guestIpam: GuestIpam,
    readonly publicIpam: PublicIpam,
    /** The watched copy of the network records GetNetwork reads. */
    readonly networkView: NetworkView,
    /** The replica's copy of the guest address blocks; stopped with the replica. */
    readonly addressBlocks: WatchedBlocks,
  ) {}

  static async open(deps: { nc: NatsConnection; events: EventPublisher; config: GuruConfig }): Promise<Guru> {
    const { nc, events, config } = deps;
    const { store, blocks } = await whileStreamsSettle(async () => {
      const opened = await GuruStore.open(nc);
      await migrateLegacyAddresses(opened);
      return { store: opened, blocks: await WatchedBlocks.open(opened.addressBlocks) };
    });
    // Never fails the start: a copy that cannot watch yet keeps trying while reads go to KV.
    const view = new NetworkView(store.networks);
    await view.start();
    const pools = {
      gre: new KeyPool(
        store.greKeys,
        { noun: "GRE key", settings: "SDN_GRE_KEY_MIN..SDN_GRE_KEY_MAX" },
        { min: config.SDN_GRE_KEY_MIN, max: config.SDN_GRE_KEY_MAX },
        async (networkId, key) => (await store.networks.get(networkId))?.value.greKey === key,
      ),
      vxlan: new KeyPool(
        store.vnis,
        { noun: "VNI", settings: "SDN_VNI_MIN..SDN_VNI_MAX" },
        { min: config.SDN_VNI_MIN, max: config.SDN_VNI_MAX },
        async (networkId, key) => (await store.networks.get(networkId))?.value.vni === key,
      ),
    };
    // The network manager asks the IPAMs what a network holds; the IPAMs need the manager.
    const ipam: { public?: PublicIpam; guest?: GuestIpam } = {};
    const networks = new NetworkManager(
      store,
      pools,
      events,
      async (id) => (await (ipam.public as PublicIpam).ofNetwork(id)).map((p) => ({ id: p.id, ip: p.ip })),
      async (id) => (await (ipam.guest as GuestIpam).holders(id)).map((a) => ({ nicId: a.nicId, ip: a.ip })),
      pskSealer(nc),
      view,
    );
    ipam.public = new PublicIpam(store, networks, events);
    ipam.guest = new GuestIpam(store, blocks, networks, events);
    return new Guru(networks, ipam.guest, ipam.public, view, blocks);
  }
}
