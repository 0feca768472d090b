import Type from "@sdn/typebox";
import { defineEvent } from "../definitions.js";
import { Nic } from "../resources/nics.js";

const service = "ovs-element" as const;
const closed = { additionalProperties: false } as const;

export const NicPlugged = defineEvent({
  service,
  name: "NicPlugged",
  summary: "A NIC is on its network's bridge and its host is in the network's tunnel mesh.",
  data: Type.Object({ nic: Nic }, closed),
});

export const NicUnplugged = defineEvent({
  service,
  name: "NicUnplugged",
  summary: "A NIC was detached and its address released.",
  data: Type.Object({ nic: Nic }, closed),
});

export const NicUpdated = defineEvent({
  service,
  name: "NicUpdated",
  summary: "A NIC's hostname, user data or SSH public keys changed.",
  data: Type.Object({ nic: Nic }, closed),
});

export const NIC_EVENTS = [NicPlugged, NicUnplugged, NicUpdated] as const;
