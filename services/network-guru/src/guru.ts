import type { EventPublisher } from "@sdn/bus";
import type { NatsConnection } from "@nats-io/transport-node";
import type { GuruConfig } from "./config.js";
import { pskSealer } from "./ipsec-psk.js";
import { KeyPool } from "./key-pool.js";
import { GuestIpam } from "./guest-ipam.js";
import { NetworkManager } from "./network-manager.js";
import { NetworkView } from "./network-view.js";
import { PublicIpam } from "./public-ipam.js";
import { GuruStore } from "./store.js";

/** One replica's managers, built on its KV store. */
export class Guru {
  private constructor(
    readonly networks: NetworkManager,
    readonly guestIpam: GuestIpam,
    readonly publicIpam: PublicIpam,
    /** The watched copy of the network records GetNetwork reads. */
    readonly networkView: NetworkView,
  ) {}

  static async open(deps: { nc: NatsConnection; events: EventPublisher; config: GuruConfig }): Promise<Guru> {
    const { nc, events, config } = deps;
    const store = await GuruStore.open(nc);
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
    // The network manager asks the public IPAM what a network holds; the IPAM needs the manager.
    const ipam: { public?: PublicIpam } = {};
    const networks = new NetworkManager(
      store,
      pools,
      events,
      async (id) => (await (ipam.public as PublicIpam).ofNetwork(id)).map((p) => ({ id: p.id, ip: p.ip })),
      pskSealer(nc),
      view,
    );
    const publicIpam = new PublicIpam(store, networks, events);
    ipam.public = publicIpam;
    return new Guru(networks, new GuestIpam(store, networks, events), publicIpam, view);
  }
}
