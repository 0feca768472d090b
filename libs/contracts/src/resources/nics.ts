import Type, { type Static } from "@sdn/typebox";
import { nextCursorField } from "../paging.js";
import { Hostname, PublicKeys, UserData } from "./guest-data.js";
import { HostId, InterfaceName, MacAddress } from "./hosts.js";
import { AccountId, NetworkId, NicId } from "./networks.js";

/**
 * A VM's NIC on a guest network, as the ovs-element plugs it: its address (from the
 * network-guru), its MAC, the host and device it sits on, the network's bridge there and
 * the MTU the guest must use (GRE overhead taken off the host's underlay MTU).
 */

export const VmId = Type.String({
  pattern: "^[A-Za-z0-9_-]{1,128}$",
  description: "The VM the NIC belongs to (XenServer / XCP-ng: the VM's uuid)",
  examples: ["0b7f8a52-3c61-4d6e-9a7b-2f1e0d9c8b7a"],
});

export const NIC_ROLES = ["guest", "router"] as const;
export type NicRole = (typeof NIC_ROLES)[number];
export const NicRoleSchema = Type.Enum([...NIC_ROLES], {
  description:
    "guest: a VM's NIC, its address reserved by the network-guru. router (admins only): the network's virtual " +
    "router, whose NIC holds the network's gateway address (never handed to a guest, so not reserved)",
  examples: ["guest"],
});

export const NIC_STATES = ["Plugging", "Plugged", "Unplugging", "Unplugged"] as const;
export type NicState = (typeof NIC_STATES)[number];
export const NicStateSchema = Type.Enum([...NIC_STATES], {
  description:
    "Plugging / Unplugging: a plug or unplug is in progress (a crashed one is finished by its redelivered command). " +
    "Plugged: on the bridge with its tunnels. Unplugged: only in the answer to an unplug",
  examples: ["Plugged"],
});

const timestamp = (description: string) =>
  Type.String({ format: "date-time", description, examples: ["2025-01-31T12:00:00.000Z"] });

export const Nic = Type.Object(
  {
    id: NicId,
    networkId: NetworkId,
    accountId: AccountId,
    vmId: VmId,
    hostId: HostId,
    role: NicRoleSchema,
    device: InterfaceName,
    ip: Type.String({ format: "ipv4", description: "The NIC's address", examples: ["10.1.0.17"] }),
    prefixLength: Type.Integer({ minimum: 8, maximum: 30, examples: [24] }),
    gateway: Type.String({ format: "ipv4", examples: ["10.1.0.1"] }),
    mac: MacAddress,
    portSecurity: Type.Optional(
      Type.Boolean({ description: "Whether the NIC may send only from its MAC and address (anti-spoofing)" }),
    ),
    bridge: InterfaceName,
    mtu: Type.Integer({
      minimum: 576,
      maximum: 9000,
      description: "MTU for the guest: the network's MTU, at most the host's underlay MTU minus 42 (GRE overhead)",
      examples: [1450],
    }),
    state: NicStateSchema,
    hostname: Type.Optional(Hostname),
    userData: Type.Optional(UserData),
    publicKeys: Type.Optional(PublicKeys),
    createdAt: timestamp("When the plug began"),
    updatedAt: timestamp("Last change"),
  },
  {
    additionalProperties: false,
    $id: "Nic",
    description: "A NIC plugged into a guest network on one host",
    examples: [
      {
        id: "nic-5c1e0a9b7d3f2e4a6b8c",
        networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
        accountId: "acct-42",
        vmId: "vm-17",
        hostId: "3f6c0d0e-4b9a-5a8e-9c1f-2d7e8b6a1c40",
        role: "guest",
        device: "vnet3",
        ip: "10.1.0.17",
        prefixLength: 24,
        gateway: "10.1.0.1",
        mac: "02:5a:11:3c:7e:01",
        bridge: "sdn3f2a9b1c0d4e",
        mtu: 1450,
        state: "Plugged",
        createdAt: "2025-01-31T12:00:00.000Z",
        updatedAt: "2025-01-31T12:00:01.000Z",
      },
    ],
  },
);
export type Nic = Static<typeof Nic>;

export const NicList = Type.Object(
  { nics: Type.Array(Nic), ...nextCursorField },
  { additionalProperties: false, $id: "NicList" },
);
