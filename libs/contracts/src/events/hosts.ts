import Type from "@sdn/typebox";
import { defineEvent } from "../definitions.js";
import { Host, HostId } from "../resources/hosts.js";
import { TunnelHealthChanged } from "./tunnels.js";

export const HostAdded = defineEvent({
  service: "hypervisor-agent",
  name: "HostAdded",
  summary: "A host was added and is Up.",
  data: Type.Object({ host: Host }, { additionalProperties: false }),
});

export const HostRemoved = defineEvent({
  service: "hypervisor-agent",
  name: "HostRemoved",
  summary: "A host was removed from the registry.",
  data: Type.Object({ id: HostId, name: Type.String() }, { additionalProperties: false }),
});

export const HostConnected = defineEvent({
  service: "hypervisor-agent",
  name: "HostConnected",
  summary: "An agent replica took charge of a host and reached it; the orchestrator may reconcile it now.",
  data: Type.Object(
    { id: HostId, name: Type.String(), agentInstanceId: Type.String() },
    { additionalProperties: false },
  ),
});

export const HostDisconnected = defineEvent({
  service: "hypervisor-agent",
  name: "HostDisconnected",
  summary: "The agent in charge of a host cannot reach it (or its programs) any more.",
  data: Type.Object(
    { id: HostId, name: Type.String(), agentInstanceId: Type.String(), reason: Type.String() },
    { additionalProperties: false },
  ),
});

export const OvsDriftDetected = defineEvent({
  service: "hypervisor-agent",
  name: "OvsDriftDetected",
  summary:
    "Someone else deleted or changed what the controller owns in a host's Open vSwitch (seen by the agent's OVSDB " +
    "monitor, debounced); the orchestrator reconciles those networks on that host now.",
  data: Type.Object(
    {
      id: HostId,
      name: Type.String(),
      agentInstanceId: Type.String(),
      networkIds: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1 }),
    },
    { additionalProperties: false },
  ),
});

export const HOST_EVENTS = [
  HostAdded,
  HostRemoved,
  HostConnected,
  HostDisconnected,
  OvsDriftDetected,
  TunnelHealthChanged,
] as const;
