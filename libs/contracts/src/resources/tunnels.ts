import Type, { type Static } from "@sdn/typebox";
import { nextCursorField } from "../paging.js";
import { HostId, InterfaceName } from "./hosts.js";
import { Encapsulation, NetworkId } from "./networks.js";

/**
 * One direction of a tunnel (GRE or VXLAN, the network's encapsulation) between two hosts of a network (CloudStack's
 * ovs_tunnel_network row): the port on `from` whose remote is `to`.
 */
export const TUNNEL_STATES = ["Created", "Established", "Failed"] as const;
export type TunnelState = (typeof TUNNEL_STATES)[number];

/**
 * Whether packets cross a tunnel, by BFD on it (both ends): up, down (the path is dead,
 * e.g. a cut underlay), unknown (BFD has not concluded yet, or the host does not report).
 */
export const TUNNEL_HEALTH = ["up", "down", "unknown"] as const;
export type TunnelHealth = (typeof TUNNEL_HEALTH)[number];
export const TunnelHealthField = Type.Enum([...TUNNEL_HEALTH], {
  description: "BFD on the tunnel: up, down (no packet crosses), unknown (not concluded or not reported)",
});

/** A host's underlay address: admins see it, tenants never (they see host ids). */
export const underlayAddress = Type.String({
  format: "ipv4",
  examples: ["10.0.0.12"],
  description: "The underlay address of the host at the far end; admins only (absent for a tenant)",
});

export const Tunnel = Type.Object(
  {
    networkId: NetworkId,
    from: HostId,
    to: HostId,
    remoteIp: Type.Optional(underlayAddress),
    key: Type.Integer({
      minimum: 1,
      maximum: 4294967295,
      description: "The network's GRE key, or its VNI on a vxlan network",
    }),
    encapsulation: Type.Optional(Encapsulation),
    port: Type.Union([InterfaceName, Type.Null()], { description: "The port on `from`; null until established" }),
    state: Type.Enum([...TUNNEL_STATES], {
      description:
        "Created: wanted, not yet applied on `from`. Established: `from` applied it (its whole tunnel set, one " +
        "transaction). Failed: applying on `from` failed; retried with back-off",
    }),
    lastError: Type.Union([Type.String(), Type.Null()], {
      description:
        "Why the last apply failed. Admins read the host's own message; a tenant reads that the host could not " +
        "apply it (host messages can name underlay addresses and host internals)",
    }),
    attempts: Type.Integer({ minimum: 0, description: "Failed applies since the last success" }),
    nextRetryAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    updatedAt: Type.String({ format: "date-time" }),
    health: Type.Optional(TunnelHealthField),
    healthChangedAt: Type.Optional(
      Type.Union([Type.String({ format: "date-time" }), Type.Null()], {
        description: "When health last changed; null while it was never reported",
      }),
    ),
  },
  {
    additionalProperties: false,
    $id: "Tunnel",
    examples: [
      {
        networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
        from: "host-a",
        to: "host-b",
        remoteIp: "10.0.0.12",
        key: 3000000001,
        port: "gre-1a2b3c4d5e6",
        state: "Established",
        lastError: null,
        attempts: 0,
        nextRetryAt: null,
        updatedAt: "2025-01-31T12:00:01.000Z",
        health: "up",
        healthChangedAt: "2025-01-31T12:00:03.000Z",
      },
    ],
  },
);
export type Tunnel = Static<typeof Tunnel>;

export const TunnelList = Type.Object(
  { tunnels: Type.Array(Tunnel), ...nextCursorField },
  { additionalProperties: false, $id: "TunnelList" },
);
