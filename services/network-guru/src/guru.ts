import type { EventPublisher } from "@sdn/bus";
import type { NatsConnection } from "@nats-io/transport-node";
import type { GuruConfig } from "./config.js";
import { KeyPool } from "./key-pool.js";
import { migrateLegacyAddresses } from "./legacy-addresses.js";
import { GuestIpam } from "./guest-ipam.js";
import { NetworkManager } from "./network-manager.js";
import { PublicIpam } from "./public-ipam.js";
import { GuruStore } from "./store.js";

interface Parts {
  networks: NetworkManager;
  guestIpam: GuestIpam;
  publicIpam: PublicIpam;
}

/** One replica's managers, built on the KV store once it is open (the handlers exist before). */
export class Guru {
  private parts: Parts | undefined;

  constructor(private readonly deps: { nc: NatsConnection; events: EventPublisher; config: GuruConfig }) {}

  async open(): Promise<void> {
    const { nc, events, config } = this.deps;
    const store = await GuruStore.open(nc);
    await migrateLegacyAddresses(store);
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
    const networks = new NetworkManager(store, pools, events, async (id) =>
      (await (ipam.public as PublicIpam).ofNetwork(id)).map((p) => ({ id: p.id, ip: p.ip })),
    );
    const publicIpam = new PublicIpam(store, networks, events);
    ipam.public = publicIpam;
    this.parts = { networks, guestIpam: new GuestIpam(store, networks, events), publicIpam };
  }

  private get ready(): Parts {
    if (this.parts === undefined) throw new Error("network-guru state is not open yet");
    return this.parts;
  }

  get networks(): NetworkManager {
    return this.ready.networks;
  }

  get guestIpam(): GuestIpam {
    return this.ready.guestIpam;
  }

  get publicIpam(): PublicIpam {
    return this.ready.publicIpam;
  }
}
