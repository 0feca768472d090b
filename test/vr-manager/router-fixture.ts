import { connect, type NatsConnection } from "@nats-io/transport-node";
import { CommandClient } from "@sdn/bus";
import {
  AcquirePublicIp,
  CreateNetwork,
  CreatePublicIpRange,
  GetRouterSshKey,
  RegisterRouter,
  type CommandDefinition,
  type Network,
  type PublicIp,
  type RequestOf,
  type ResponseOf,
  type Router,
} from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { TestNatsServer } from "@sdn/testkit";
import { startStack, type ServiceStack } from "@sdn/testkit/stack";
import { vrManagerSpec } from "@sdn/vr-manager";
import { join } from "node:path";
import { exec, Lab } from "../lab/index.js";
import { labNamespace, LabRouter, ROUTER_PROGRAM_DIR } from "./router-lab.js";

export const ACCOUNT = "acct-vr";

/**
 * One router and no hypervisors: a nats-server, the network-guru, the ovs-element, `replicas` vr-managers
 * (in this process), one network with a public IP, and a router namespace registered for
 * it (direct SSH on the lab's management network; its public and guest interfaces are
 * veths to an otherwise empty namespace). For tests of the apply path and benchmarks,
 * where traffic through VMs is not the point.
 */
export class RouterFixture {
  private constructor(
    readonly lab: Lab,
    readonly nats: TestNatsServer,
    readonly nc: NatsConnection,
    readonly services: ServiceStack,
    readonly router: LabRouter,
    readonly network: Network,
    readonly publicIp: PublicIp,
    readonly registered: Router,
  ) {}

  static async start(replicas = 1): Promise<RouterFixture> {
    const lab = await Lab.create();
    const nats = await TestNatsServer.start();
    let services: ServiceStack | undefined;
    try {
      const nc = await connect({ servers: nats.url });
      const vrManager = {
        SDN_SECRET_KEY: Buffer.alloc(32, 9).toString("base64"),
        SDN_VR_PROGRAM_DIR: ROUTER_PROGRAM_DIR,
        SDN_VR_CHECK_INTERVAL_MS: "60000",
      };
      services = await startStack({ NATS_URL: nats.url, SDN_DATA_DIR: join(lab.dir, "data") }, [
        [networkGuruSpec],
        // The element answers which guest NICs the router serves (none here unless a test plugs some).
        [ovsElementSpec],
        ...Array.from({ length: replicas }, () => [vrManagerSpec, vrManager] as const),
      ]);
      const admin = { role: "admin" as const, accountId: "ops" };
      const call = <C extends CommandDefinition>(def: C, body: RequestOf<C>) => sendOk(nc, def, body, admin);
      await call(CreatePublicIpRange, {
        cidr: "203.0.113.0/24",
        gateway: "203.0.113.1",
        startIp: "203.0.113.10",
        endIp: "203.0.113.99",
      });
      const network = await call(CreateNetwork, { name: "bench", cidr: "10.1.0.0/16", accountId: ACCOUNT });
      const publicIp = await call(AcquirePublicIp, { networkId: network.id });

      const router = await LabRouter.create(lab, "rt");
      await router.controlOnUnderlay(lab, 201);
      const peer = await labNamespace(lab, "peer");
      for (const [dev, other] of [
        ["eth1", "p0"],
        ["eth2", "p1"],
      ] as const) {
        await exec(["ip", "-n", router.ns, "link", "add", dev, "type", "veth", "peer", "name", other, "netns", peer]);
        await exec(["ip", "-n", router.ns, "link", "set", dev, "up"]);
      }
      await router.startSshd([(await call(GetRouterSshKey, {})).publicKey]);
      const registered = await call(RegisterRouter, {
        name: "rt",
        hostId: "host-1",
        vmId: "vm-rt",
        networkIds: [network.id],
        nics: [{ networkId: network.id, interface: "eth2" }],
        controlAddress: router.controlAddress,
        hostKeyFingerprint: router.hostKeyFingerprint,
        publicInterface: "eth1",
        plugNics: false, // no hypervisor here: the NIC is the veth itself
      });
      return new RouterFixture(lab, nats, nc, services, router, network, publicIp, registered);
    } catch (err) {
      await services?.stop();
      await nats.dispose();
      await lab.dispose();
      throw err;
    }
  }

  /** Sends a command as the network's tenant (or as given) and returns its data; throws on an error answer. */
  send<C extends CommandDefinition>(
    def: C,
    body: RequestOf<C>,
    as: { role: "admin" | "tenant"; accountId?: string } = { role: "tenant", accountId: ACCOUNT },
  ): Promise<ResponseOf<C>> {
    return sendOk(this.nc, def, body, as);
  }

  async dispose(): Promise<void> {
    await this.services.stop();
    await this.nc.close();
    await this.nats.dispose();
    await this.lab.dispose();
  }
}

const sendOk = async <C extends CommandDefinition>(
  nc: NatsConnection,
  def: C,
  body: RequestOf<C>,
  as: { role: "admin" | "tenant"; accountId?: string },
): Promise<ResponseOf<C>> => {
  const a = await new CommandClient(nc).send(def, body, { ...as, timeoutMs: 120_000 });
  if (!a.ok) throw new Error(`${def.name} failed: ${a.error.code} ${a.error.message}`);
  return a.data;
};
