import Type from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { pageRequestFields } from "../paging.js";
import { Hostname, PublicKeys, UserData } from "../resources/guest-data.js";
import { HostId } from "../resources/hosts.js";
import { Nic, NicList, NicRoleSchema, VmId } from "../resources/nics.js";
import { NetworkId, NicId } from "../resources/networks.js";

/**
 * Durable commands of the ovs-element for NICs (CloudStack's OvsElement.prepare / release).
 * Tenancy is the network's: a tenant plugs into and sees only its own networks (NOT_FOUND
 * otherwise).
 */

const service = "ovs-element" as const;
const closed = { additionalProperties: false } as const;

/** What the virtual router serves the guest (docs/guest-services.md); set at plug, changed by UpdateNic. */
export const guestDataFields = {
  hostname: Type.Optional(Hostname),
  userData: Type.Optional(UserData),
  publicKeys: Type.Optional(PublicKeys),
};

export const PlugNicRequest = Type.Object(
  {
    networkId: NetworkId,
    vmId: VmId,
    hostId: HostId,
    hostInterface: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9_.-]{1,15}$",
        examples: ["vnet3"],
        description:
          "The VM's device on the host (KVM: its tap or veth, required). XenServer / XCP-ng: optional, the VM's " +
          "vif<domid>.<n> is found through XAPI from vmId",
      }),
    ),
    mac: Type.Optional(
      Type.String({
        pattern: "^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$",
        examples: ["02:16:3e:4a:00:01"],
        description:
          "The VM's MAC; default the XAPI VIF's MAC, else a generated locally administered one (unique on the network)",
      }),
    ),
    ip: Type.Optional(
      Type.String({
        format: "ipv4",
        description: "A specific address inside the network's CIDR",
        examples: ["10.1.0.17"],
      }),
    ),
    role: Type.Optional(NicRoleSchema),
    portSecurity: Type.Optional(
      Type.Boolean({
        description:
          "Port security: the NIC may send only from its MAC and address (plus ARP for its address and DHCP " +
          "discovery). Default true for guests, false for routers; false for appliances that forward others' traffic",
      }),
    ),
    ...guestDataFields,
  },
  {
    ...closed,
    $id: "PlugNicRequest",
    examples: [
      {
        networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
        vmId: "vm-17",
        hostId: "3f6c0d0e-4b9a-5a8e-9c1f-2d7e8b6a1c40",
        hostInterface: "vnet3",
      },
    ],
  },
);

export const PlugNic = defineCommand({
  service,
  name: "PlugNic",
  delivery: "durable",
  summary:
    "Plugs a VM's NIC into a network on a host: implements the network if needed, reserves the address " +
    "(idempotent by NIC id), ensures the bridge on the host, re-applies the whole tunnel set of every host of " +
    "the network (one ApplyTunnels per host, in parallel) and attaches the device. A redelivered command " +
    "finishes the same NIC; a failure on the host undoes the plug. role=router is for admins and takes the " +
    "network's gateway address. NOT_FOUND: network; UNPROCESSABLE: unknown host, ip outside the CIDR, no " +
    "device; CONFLICT: host not Up, address/MAC/device taken; FORBIDDEN: the host says the device is no VM's port " +
    "(physical NIC, bond, bridge, internal port, host interface) or not vmId's, or the VM belongs to another " +
    "account (a VM is its first plugger's until its last NIC goes); UNAVAILABLE: the host's agent did not answer.",
  request: PlugNicRequest,
  response: Nic,
});

export const UnplugNic = defineCommand({
  service,
  name: "UnplugNic",
  delivery: "durable",
  summary:
    "Detaches a NIC and releases its address; when it was the host's last NIC on the network, removes the " +
    "network's bridge there and re-applies the peers' tunnel sets without that host. Answers the NIC, Unplugged. " +
    "FORBIDDEN: a router NIC (role router) is unplugged by admins only.",
  request: Type.Object({ networkId: NetworkId, nicId: NicId }, closed),
  response: Nic,
});

export const UpdateNic = defineCommand({
  service,
  name: "UpdateNic",
  delivery: "durable",
  summary:
    "Changes what the network's virtual router serves a guest NIC: its hostname (DHCP and DNS), user data and " +
    "SSH public keys (metadata). A field left out is kept; an empty userData or publicKeys removes them. The " +
    "router gets the change with its next configuration (NicUpdated). NOT_FOUND: network or NIC; " +
    "UNPROCESSABLE: a router's NIC.",
  request: Type.Object({ networkId: NetworkId, nicId: NicId, ...guestDataFields }, closed),
  response: Nic,
});

export const ListNics = defineCommand({
  service,
  name: "ListNics",
  delivery: "request",
  summary: "Lists the NICs of a network, one page at a time, ordered by NIC id.",
  request: Type.Object({ networkId: NetworkId, ...pageRequestFields }, closed),
  response: NicList,
});

export const NIC_COMMANDS = [PlugNic, UnplugNic, UpdateNic, ListNics] as const;
