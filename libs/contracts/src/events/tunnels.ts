import Type from "@sdn/typebox";
import { defineEvent } from "../definitions.js";
import { HostId, InterfaceName, Ipv4 } from "../resources/hosts.js";
import { NetworkId } from "../resources/networks.js";
import { TunnelHealthField, underlayAddress } from "../resources/tunnels.js";

const service = "ovs-element" as const;
const closed = { additionalProperties: false } as const;

export const TunnelEstablished = defineEvent({
  service,
  name: "TunnelEstablished",
  summary: "Tunnels from one host of a network became Established (one event per host and apply, listing them).",
  data: Type.Object(
    {
      networkId: NetworkId,
      from: HostId,
      tunnels: Type.Array(
        Type.Object({ to: HostId, remoteIp: Type.Optional(underlayAddress), port: InterfaceName }, closed),
      ),
    },
    closed,
  ),
});

export const TunnelFailed = defineEvent({
  service,
  name: "TunnelFailed",
  summary: "Applying a host's tunnel set failed; its tunnels are Failed and retried with back-off.",
  data: Type.Object(
    {
      networkId: NetworkId,
      from: HostId,
      to: Type.Array(HostId),
      error: Type.String({
        description: "The host's message in an admin's account; in a tenant's, that the host could not apply them",
      }),
      attempts: Type.Integer({ minimum: 1 }),
      retryInMs: Type.Integer({ minimum: 0 }),
    },
    closed,
  ),
});

export const DriftRepaired = defineEvent({
  service,
  name: "DriftRepaired",
  summary: "Reconciliation found a host's Open vSwitch state apart from the desired state and repaired it.",
  data: Type.Object(
    {
      networkId: NetworkId,
      hostId: HostId,
      repairs: Type.Array(Type.String(), { description: "What was wrong, e.g. 'bridge missing'" }),
    },
    closed,
  ),
});

const healthChange = Type.Object(
  {
    networkId: NetworkId,
    from: HostId,
    to: HostId,
    remoteIp: Type.Optional(underlayAddress),
    port: InterfaceName,
    diagnostic: Type.Union([Type.String(), Type.Null()], { description: "BFD's diagnostic on `from`, if any" }),
    changedAt: Type.String({ format: "date-time" }),
  },
  closed,
);

export const TunnelDown = defineEvent({
  service,
  name: "TunnelDown",
  summary: "BFD on the tunnel from `from` to `to` declared the path dead: packets of the network no longer cross it.",
  data: healthChange,
});

export const TunnelUp = defineEvent({
  service,
  name: "TunnelUp",
  summary: "BFD on the tunnel from `from` to `to` is up again (or for the first time): packets cross.",
  data: healthChange,
});

/**
 * The agent's report of its host's tunnels whose BFD health changed (or all of them, when
 * it took charge of the host); the element keeps and publishes it per tunnel row.
 */
export const TunnelHealthChanged = defineEvent({
  service: "hypervisor-agent",
  name: "TunnelHealthChanged",
  summary: "Tunnels of a host whose BFD health changed (all of them when an agent replica took charge of the host).",
  data: Type.Object(
    {
      hostId: HostId,
      observedAt: Type.String({ format: "date-time" }),
      tunnels: Type.Array(
        Type.Object(
          {
            networkId: NetworkId,
            port: InterfaceName,
            remoteIp: Ipv4,
            health: TunnelHealthField,
            diagnostic: Type.Union([Type.String(), Type.Null()]),
          },
          closed,
        ),
      ),
    },
    closed,
  ),
});

export const TUNNEL_EVENTS = [TunnelEstablished, TunnelFailed, DriftRepaired, TunnelDown, TunnelUp] as const;
