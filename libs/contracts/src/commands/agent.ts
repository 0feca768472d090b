import Type, { type TSchema } from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { HostId, InterfaceName, Ipv4, MacAddress, Platform, TunnelInterface } from "../resources/hosts.js";
import { Encapsulation, GreKey, NetworkId, Vni } from "../resources/networks.js";
import { SealedSecret } from "../sealing.js";
import { agentSubject } from "../subjects.js";

/*
 * Agent commands: NATS request/reply on sdn.agent.<hostId>.<Command>, served by the one
 * hypervisor-agent replica that holds the host's lease. Every command is idempotent (the
 * caller may retry after a timeout) and carries a whole desired state for one host, so
 * the orchestrator sends one command per host and the host applies it in one OVSDB
 * transaction. Everything the host programs create is tagged in external_ids with
 * sdn-managed=true, sdn-network-id=<networkId> and sdn-role=network|tunnel|vif; untagged
 * objects are never changed or removed.
 *
 * Errors (answer ok:false): NOT_FOUND (no bridge for the network on the host, unknown
 * device), CONFLICT (the bridge or port belongs to something else), UNAVAILABLE (the host
 * or its toolstack cannot be reached; retry later), UNPROCESSABLE (the host refused:
 * details.hostError holds its code), INVALID_COMMAND (bad request).
 */

const agentCommand = <N extends string, Req extends TSchema, Res extends TSchema>(
  name: N,
  summary: string,
  request: Req,
  response: Res,
) => defineCommand({ service: "hypervisor-agent", name, delivery: "request", summary, request, response });

const obj = <P extends Parameters<typeof Type.Object>[0]>(props: P) =>
  Type.Object(props, { additionalProperties: false });

export const Ping = agentCommand(
  "Ping",
  "Reaches the host and its programs; answers what the agent knows of it.",
  obj({}),
  obj({
    hostId: HostId,
    agentInstanceId: Type.String({ description: "The agent replica in charge of the host" }),
    platform: Platform,
    programsVersion: Type.String(),
    roundTripMs: Type.Number({ minimum: 0 }),
    southbound: Type.Optional(
      Type.Object(
        {
          path: Type.Enum(["ovsdb", "program"], {
            description: "How the agent changes the host's Open vSwitch: OVSDB, or the host program / XAPI plugin",
          }),
          code: Type.Optional(
            Type.String({
              description:
                "Why not over OVSDB, e.g. HOST_CERT_MISMATCH, POOL_HAS_OTHER_CONTROLLER, SDN_CONTROLLER_UNSUPPORTED",
            }),
          ),
          reason: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
  }),
);

export const SetupBridge = agentCommand(
  "SetupBridge",
  "Ensures the network's bridge exists on the host (XAPI: the pool network and, on XenServer, the bridge via a dom0 VIF). Idempotent.",
  obj({ networkId: NetworkId }),
  obj({
    bridge: InterfaceName,
    created: Type.Boolean({ description: "False when it already existed" }),
  }),
);

export const DestroyBridge = agentCommand(
  "DestroyBridge",
  "Removes the network's bridge (with its tunnels and ports) from the host. Idempotent.",
  obj({ networkId: NetworkId }),
  obj({
    bridge: Type.Union([InterfaceName, Type.Null()]),
    destroyed: Type.Boolean({ description: "False when there was none" }),
  }),
);

/*
 * The bridge set up by the call that needs it: with ensureBridge, a host without the
 * network's bridge sets it up first (what SetupBridge does) instead of answering NOT_FOUND,
 * so a plug costs PlugVif and one ApplyTunnels per host, not a SetupBridge besides. Agents
 * from before the field refuse it (INVALID_COMMAND): upgrade the agents before the element.
 */
const EnsureBridge = Type.Optional(
  Type.Boolean({ description: "Set up the network's bridge first when the host has none (as SetupBridge does)" }),
);
const BridgeCreated = Type.Optional(
  Type.Boolean({ description: "With ensureBridge: true when this call created the bridge (it was missing)" }),
);

export const TunnelRemote = obj({
  ip: Ipv4,
  hostId: Type.Optional(HostId),
});

export const ApplyTunnels = agentCommand(
  "ApplyTunnels",
  "Makes the network's tunnels on the host exactly the given set (adds missing, removes extra, repairs drift) in one OVSDB transaction: GRE with greKey, or VXLAN (UDP 4789) with vni when encapsulation is vxlan. Tunnel ports are protected (split horizon). Needs the bridge (SetupBridge, or ensureBridge). INVALID_COMMAND when the key does not match the encapsulation. With ipsecPsk (an encrypted network's pre-shared key, sealed to the agents' sealing key) every tunnel gets options:psk, and a host that cannot encrypt refuses before writing anything (UNPROCESSABLE, details.hostError IPSEC_UNAVAILABLE or IPSEC_DATAPATH_UNSUPPORTED).",
  obj({
    networkId: NetworkId,
    encapsulation: Type.Optional(Encapsulation),
    // Both optional so one request shape serves both encapsulations; the agent checks the pair.
    greKey: Type.Optional(GreKey),
    vni: Type.Optional(Vni),
    remotes: Type.Array(TunnelRemote, {
      maxItems: 4096,
      description: "Tunnel endpoints of every other host of the network; [] removes all",
    }),
    ensureBridge: EnsureBridge,
    // An encrypted network's pre-shared key, sealed to the agents' key (context `ipsec-psk/<networkId>`).
    ipsecPsk: Type.Optional(SealedSecret),
  }),
  obj({
    bridge: InterfaceName,
    added: Type.Array(InterfaceName),
    removed: Type.Array(InterfaceName),
    tunnels: Type.Array(obj({ port: InterfaceName, remoteIp: Ipv4 })),
    bridgeCreated: BridgeCreated,
  }),
);

export const FetchInterface = agentCommand(
  "FetchInterface",
  "Finds the host's tunnel endpoint: by label (XAPI network name-label, or KVM interface name), else the interface holding the host's address.",
  obj({ label: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
  TunnelInterface,
);

export const PlugVif = agentCommand(
  "PlugVif",
  "Attaches an existing VM port (vifX.Y, vnetN, tap...) to the network's bridge and tags it. Idempotent. FORBIDDEN " +
    "(details.hostError NOT_A_GUEST_DEVICE / DEVICE_NOT_OWNED) when the device is no VM's port or the host's " +
    "records (XAPI VIFs, libvirt domains) do not give it to vmId.",
  obj({
    networkId: NetworkId,
    device: InterfaceName,
    nicId: Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$" }),
    mac: Type.Optional(MacAddress),
    vmId: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$" })),
    ip: Type.Optional(
      Type.String({ format: "ipv4", description: "The NIC's address: the only IPv4 source the port may send from" }),
    ),
    portSecurity: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Anti-spoofing OpenFlow flows on the port (needs mac): it sends only from its MAC and ip, ARP for its ip, " +
          "DHCP discovery; false for routers and appliances",
      }),
    ),
    ensureBridge: EnsureBridge,
  }),
  obj({ bridge: InterfaceName, port: InterfaceName, bridgeCreated: BridgeCreated }),
);

export const UnplugVif = agentCommand(
  "UnplugVif",
  "Detaches a VM port from the network's bridge. Idempotent; refuses ports of another network.",
  obj({ networkId: NetworkId, device: InterfaceName }),
  obj({ port: InterfaceName, removed: Type.Boolean() }),
);

const OvsInterface = obj({
  name: Type.String(),
  type: Type.String({ examples: ["gre", "system", "internal"] }),
  options: Type.Record(Type.String(), Type.String()),
  ofport: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  mac: Type.Union([Type.String(), Type.Null()]),
  externalIds: Type.Record(Type.String(), Type.String()),
});
const OvsPort = obj({
  name: Type.String(),
  protected: Type.Boolean(),
  externalIds: Type.Record(Type.String(), Type.String()),
  interfaces: Type.Array(OvsInterface),
});
export const OvsBridge = Type.Object(
  {
    name: Type.String(),
    datapathType: Type.String(),
    managed: Type.Boolean({ description: "Tagged sdn-managed=true by us" }),
    networkId: Type.Union([Type.String(), Type.Null()]),
    externalIds: Type.Record(Type.String(), Type.String()),
    ports: Type.Array(OvsPort),
  },
  { additionalProperties: false, $id: "OvsBridge" },
);

export const GetOvsState = agentCommand(
  "GetOvsState",
  "Reports the host's actual Open vSwitch state (bridges, ports, interfaces, options, tags, errors), for reconciliation.",
  obj({ networkId: Type.Optional(NetworkId) }),
  obj({ bridges: Type.Array(OvsBridge) }),
);

export const ListVms = agentCommand(
  "ListVms",
  "Lists the host's guests (XAPI: VMs resident on the host, no templates, snapshots or control domains; KVM: guests seen through their OVS ports).",
  obj({}),
  obj({
    vms: Type.Array(
      obj({
        id: Type.String(),
        name: Type.String(),
        powerState: Type.String(),
        nics: Type.Array(
          obj({
            device: Type.String(),
            mac: Type.Union([Type.String(), Type.Null()]),
            bridge: Type.Optional(Type.Union([Type.String(), Type.Null()])),
          }),
        ),
      }),
    ),
  }),
);

export const AGENT_COMMANDS = [
  Ping,
  SetupBridge,
  DestroyBridge,
  ApplyTunnels,
  FetchInterface,
  PlugVif,
  UnplugVif,
  GetOvsState,
  ListVms,
] as const;

/** Prefix of one host's agent subjects; the command name follows it. */
export const agentPrefix = (hostId: string): string => agentSubject(hostId, "").slice(0, -1);
