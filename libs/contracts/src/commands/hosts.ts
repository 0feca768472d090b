import Type from "typebox";
import { defineCommand } from "../definitions.js";
import { Host, HostId, NewHost } from "../resources/hosts.js";

const ById = Type.Object({ id: HostId }, { additionalProperties: false });

/**
 * Adds a host: connects, identifies it, finds its tunnel endpoint, deploys and checks the
 * host programs, and stores it Up; or refuses (details.reason: UNREACHABLE,
 * AUTHENTICATION_FAILED, HOST_KEY_MISMATCH, TLS_VERIFICATION_FAILED, NOT_AN_OVS_HOST,
 * PROGRAMS_MISSING, ...) and stores nothing. Admin only.
 */
export const AddHost = defineCommand({
  service: "hypervisor-agent",
  name: "AddHost",
  delivery: "durable",
  summary: "Adds a XenServer, XCP-ng or KVM host after connecting to it; admin only.",
  request: NewHost,
  response: Host,
});

export const RemoveHost = defineCommand({
  service: "hypervisor-agent",
  name: "RemoveHost",
  delivery: "durable",
  summary: "Forgets a host: its agent stops driving it and logs out; nothing on the host is changed. Admin only.",
  request: ById,
  response: Type.Object({ id: HostId, removed: Type.Literal(true) }, { additionalProperties: false }),
});

export const GetHost = defineCommand({
  service: "hypervisor-agent",
  name: "GetHost",
  delivery: "durable",
  summary: "Reads one host; admin only.",
  request: ById,
  response: Host,
});

export const ListHosts = defineCommand({
  service: "hypervisor-agent",
  name: "ListHosts",
  delivery: "durable",
  summary: "Lists every host; admin only.",
  request: Type.Object({}, { additionalProperties: false }),
  response: Type.Object({ hosts: Type.Array(Host) }, { additionalProperties: false }),
});

export const HOST_COMMANDS = [AddHost, RemoveHost, GetHost, ListHosts] as const;
