import Type from "typebox";
import { defineEvent } from "../definitions.js";
import { HostId, InterfaceName, Ipv4 } from "../resources/hosts.js";
import { NetworkId } from "../resources/networks.js";

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
      tunnels: Type.Array(Type.Object({ to: HostId, remoteIp: Ipv4, port: InterfaceName }, closed)),
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
      error: Type.String(),
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

export const TUNNEL_EVENTS = [TunnelEstablished, TunnelFailed, DriftRepaired] as const;
