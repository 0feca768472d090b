import type { NatsConnection } from "@nats-io/transport-node";
import { request } from "@sdn/bus";
import {
  agentSubject,
  GetOvsState,
  ListVms,
  type CommandDefinition,
  type Host,
  type NewHost,
  type RequestOf,
  type ResponseOf,
  type Tunnel,
} from "@sdn/contracts";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { expect } from "vitest";

/*
 * Hosts of the hypervisor-agent's simulator (SDN_AGENT_SIMULATOR=true), shared by the
 * cross-service test and the container suite: the requests that add them, how a NIC is
 * plugged on each kind, and what the mesh and each host's switch must then hold.
 */

/** One host of each hypervisor; credentials are generated, checked by the API, never used. */
export const simulatedHostRequests = (prefix: string, subnet: string): NewHost[] => {
  const password = randomBytes(18).toString("base64url");
  const { privateKey } = generateKeyPairSync("ed25519", {
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return [
    { name: `${prefix}-xen`, hypervisor: "xenserver", address: `${subnet}.11`, username: "root", password },
    { name: `${prefix}-xcp`, hypervisor: "xcp-ng", address: `${subnet}.12`, username: "root", password },
    {
      name: `${prefix}-kvm`,
      hypervisor: "kvm",
      address: `${subnet}.13`,
      username: "root",
      privateKey,
      trustHostKeyOnFirstContact: true,
    },
  ];
};

/** An agent command to one host over the bus; its data, or an error with the answer's. */
export const askAgent = async <C extends CommandDefinition>(
  nc: NatsConnection,
  hostId: string,
  def: C,
  body: RequestOf<C>,
): Promise<ResponseOf<C>> => {
  const a = await request(nc, def, agentSubject(hostId, def.name), body, { timeoutMs: 20_000 });
  if (!a.ok) throw new Error(`${def.name} on ${hostId}: ${a.error.code} ${a.error.message}`);
  return a.data;
};

/**
 * The PlugNic body for a guest NIC not yet plugged: XAPI hosts find the VIF from vmId, as
 * XenServer's VIFs are known to XAPI; KVM hosts are told the guest's tap.
 */
export const plugRequestFor = async (nc: NatsConnection, host: Host): Promise<Record<string, string>> => {
  const { vms } = await askAgent(nc, host.id, ListVms, {});
  const vm = vms.find((v) => v.nics.some((n) => n.bridge === null));
  const nic = vm?.nics.find((n) => n.bridge === null);
  if (vm === undefined || nic === undefined) throw new Error(`every guest NIC of ${host.name} is plugged`);
  return host.hypervisor === "kvm"
    ? { vmId: vm.id, hostId: host.id, hostInterface: nic.device }
    : { vmId: vm.id, hostId: host.id };
};

/** Every ordered pair of the hosts has exactly one Established tunnel. */
export const expectFullMesh = (tunnels: Tunnel[], hosts: Host[]): void => {
  const pairs = tunnels.map((t) => `${t.from}>${t.to}`).sort();
  const wanted = hosts.flatMap((a) => hosts.filter((b) => b !== a).map((b) => `${a.id}>${b.id}`)).sort();
  expect(pairs).toEqual(wanted);
  expect(tunnels.filter((t) => t.state !== "Established")).toEqual([]);
};

/**
 * The host's switch, read from its agent: the network's bridge, a protected GRE tunnel with
 * the network's key to every other host, and the port of each of its NICs there.
 */
export const expectHostSwitch = async (
  nc: NatsConnection,
  host: Host,
  hosts: Host[],
  network: { id: string; greKey: number },
  devices: string[],
): Promise<void> => {
  const { bridges } = await askAgent(nc, host.id, GetOvsState, { networkId: network.id });
  expect(bridges, host.name).toHaveLength(1);
  const ports = bridges[0]?.ports ?? [];
  const tunnels = ports
    .filter((p) => p.externalIds["sdn-role"] === "tunnel")
    .map((p) => ({ remoteIp: p.interfaces[0]?.options["remote_ip"], key: p.interfaces[0]?.options["key"], p }));
  expect(tunnels.map((t) => t.remoteIp).sort(), host.name).toEqual(
    hosts
      .filter((h) => h.id !== host.id)
      .map((h) => h.tunnelInterface.ip)
      .sort(),
  );
  for (const t of tunnels) {
    expect({ key: t.key, type: t.p.interfaces[0]?.type, protected: t.p.protected }).toEqual({
      key: String(network.greKey),
      type: "gre",
      protected: true,
    });
  }
  const vifs = ports.filter((p) => p.externalIds["sdn-role"] === "vif").map((p) => p.name);
  expect(vifs.sort(), host.name).toEqual([...devices].sort());
};
