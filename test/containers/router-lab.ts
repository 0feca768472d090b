import { waitFor } from "@sdn/testkit";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { ContainerRuntimeClient } from "testcontainers";
import { images, requireImage } from "./engine.js";
import type { ContainerSystem } from "./system.js";

/** The lab's traffic probe ("<name> <peer ip>" server and client), mounted into every host. */
const PROBE = fileURLToPath(new URL("../vr-manager/probe.py", import.meta.url));
const PROBE_IN_CONTAINER = "/usr/local/bin/probe.py";

// The engine's own (dockerode) types, as testcontainers hands them out.
type Container = ReturnType<ContainerRuntimeClient["container"]["getById"]>;
type Network = ReturnType<ContainerRuntimeClient["network"]["getById"]>;
type ContainerSpec = Parameters<ContainerRuntimeClient["container"]["create"]>[0];

/** A network of the lab: a bridge with a fixed subnet; `bridgeAddress` is the engine's own on it. */
export interface LabNetworkPlan {
  role: string;
  subnet: string;
  bridgeAddress: string;
}

/** A host of the lab on one network: the probe server it runs and, for VMs, its default gateway. */
export interface LabHostPlan {
  name: string;
  network: string;
  address: string;
  /** Ports the probe serves, answering "<name> <client ip>". */
  serves: number[];
  defaultGateway?: string;
}

/** A container the test runs commands in. */
export class LabContainer {
  constructor(
    private readonly system: ContainerSystem,
    readonly container: Container,
  ) {}

  /** Runs a command; its exit code and output (stdout and stderr). */
  async exec(argv: string[]): Promise<{ exitCode: number; output: string }> {
    const r = await this.system.engine.client.container.exec(this.container, argv);
    return { exitCode: r.exitCode, output: r.output };
  }

  /** What a probe of ip:port answered ("<server name> <client ip as the server saw it>"), or undefined. */
  async probe(ip: string, port: number, timeoutS = 2): Promise<string | undefined> {
    const r = await this.exec(["python3", PROBE_IN_CONTAINER, "get", ip, String(port), "--timeout", String(timeoutS)]);
    return r.exitCode === 0 ? r.output.trim() : undefined;
  }
}

/**
 * The tenant's world as containers on the suite's engine: docker networks with fixed
 * subnets (the internet, the guest networks), hosts on them running the probe, and a
 * router appliance on the services' network (its control path) and on every lab network.
 * Everything is removed with the system.
 */
export class RouterLab {
  private readonly runId = randomUUID().slice(0, 8);
  private readonly networks = new Map<string, Network>();
  private readonly containers: Container[] = [];

  private constructor(private readonly system: ContainerSystem) {
    system.onDispose(() => this.dispose());
  }

  static async create(system: ContainerSystem): Promise<RouterLab> {
    await requireImage(system.engine.client, images().router);
    return new RouterLab(system);
  }

  /** Creates a bridge network; the engine takes `bridgeAddress`, so it must not be one the lab hands out. */
  async network(plan: LabNetworkPlan): Promise<void> {
    const network = await this.system.engine.client.network.create({
      Name: `sdn-it-${this.runId}-${plan.role}`,
      Driver: "bridge",
      CheckDuplicate: true,
      IPAM: { Config: [{ Subnet: plan.subnet, Gateway: plan.bridgeAddress }] },
    });
    this.networks.set(plan.role, network);
  }

  /** Starts a host running the probe; a VM replaces its default route (NET_ADMIN) by its gateway. */
  async host(plan: LabHostPlan): Promise<LabContainer> {
    const serve = plan.serves.map((p) => `python3 ${PROBE_IN_CONTAINER} serve ${p} ${plan.name}`);
    const script = [
      ...(plan.defaultGateway === undefined ? [] : [`ip route replace default via ${plan.defaultGateway}`]),
      ...serve.slice(1).map((s) => `{ ${s} & }`),
      `exec ${serve[0] ?? "sleep infinity"}`,
    ].join(" && ");
    return this.start(plan.name, [plan.network, plan.address], {
      Cmd: ["sh", "-c", script],
      HostConfig: { CapAdd: plan.defaultGateway === undefined ? [] : ["NET_ADMIN"] },
    });
  }

  /**
   * Starts the router appliance: first on the services' network (the vr-manager reaches its
   * sshd there), then on each lab network at the given address. NET_ADMIN for addresses,
   * routes and iptables; a writable /proc/sys for the router program's ip_forward (the
   * engine cannot run privileged containers here: this machine's bounding set lacks
   * CAP_SYS_RESOURCE).
   */
  async router(
    name: string,
    authorizedKey: string,
    addresses: [network: string, address: string][],
  ): Promise<LabRouter> {
    const { servicesNetwork } = this.system.engine;
    const labContainer = await this.start(
      name,
      [servicesNetwork.getName()],
      {
        Env: [`SDN_AUTHORIZED_KEY=${authorizedKey}`],
        // What `--security-opt systempaths=unconfined` does: /proc/sys writable, nothing masked.
        HostConfig: { CapAdd: ["NET_ADMIN"], ReadonlyPaths: [], MaskedPaths: [] },
      },
      addresses,
    );
    const fingerprint = await waitFor(
      `${name}'s sshd to listen`,
      async () => {
        const listening = await labContainer.exec(["sh", "-c", "ss -Hltn 'sport = :3922' | grep -q ."]);
        if (listening.exitCode !== 0) return undefined;
        const fp = await labContainer.exec([
          "ssh-keygen",
          "-l",
          "-E",
          "sha256",
          "-f",
          "/etc/ssh/ssh_host_ed25519_key.pub",
        ]);
        return fp.exitCode === 0 ? fp.output.split(" ")[1] : undefined;
      },
      30_000,
      250,
    );
    const info = await labContainer.container.inspect();
    const controlAddress = info.NetworkSettings.Networks[servicesNetwork.getName()]?.IPAddress;
    if (controlAddress === undefined) throw new Error(`${name} has no address on the services' network`);
    const links = JSON.parse((await labContainer.exec(["ip", "-j", "-4", "addr", "show"])).output) as {
      ifname: string;
      addr_info: { local: string }[];
    }[];
    const interfaceOf = (address: string): string => {
      const link = links.find((l) => l.addr_info.some((a) => a.local === address));
      if (link === undefined) throw new Error(`${name} has no interface holding ${address}`);
      return link.ifname;
    };
    return Object.assign(labContainer, {
      hostKeyFingerprint: fingerprint,
      controlAddress,
      interfaces: new Map(addresses.map(([network, address]) => [network, interfaceOf(address)])),
    });
  }

  private async start(
    name: string,
    /** A lab network's role, or an engine network's name, and the address there (else the engine picks). */
    [first, firstAddress]: [string, string?],
    spec: Partial<ContainerSpec>,
    more: [network: string, address: string][] = [],
  ): Promise<LabContainer> {
    const { client } = this.system.engine;
    const networkName = (role: string) => this.networks.get(role)?.id ?? role;
    const endpoint = (address: string | undefined) =>
      address === undefined ? {} : { IPAMConfig: { IPv4Address: address } };
    const container = await client.container.create({
      name: `sdn-it-${this.runId}-${name}`,
      Image: images().router,
      ...spec,
      HostConfig: { ...spec.HostConfig, NetworkMode: networkName(first), Binds: [`${PROBE}:${PROBE_IN_CONTAINER}:ro`] },
      NetworkingConfig: { EndpointsConfig: { [networkName(first)]: endpoint(firstAddress) } },
    });
    this.containers.push(container);
    // The engine (API 1.41) takes one network at creation; the others are connected before the start.
    for (const [role, address] of more) {
      await client.network
        .getById(networkName(role))
        .connect({ Container: container.id, EndpointConfig: endpoint(address) });
    }
    await client.container.start(container);
    return new LabContainer(this.system, container);
  }

  private async dispose(): Promise<void> {
    await Promise.allSettled(this.containers.map((c) => c.remove({ force: true })));
    // A network still in use would say which container kept it.
    await Promise.all([...this.networks.values()].map((n) => n.remove()));
  }
}

/** The router appliance: what registering it takes. */
export type LabRouter = LabContainer & {
  hostKeyFingerprint: string;
  controlAddress: string;
  /** Its interface on each lab network, by role. */
  interfaces: Map<string, string>;
};
