import Type, { type Static } from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { Host, HostId, NewHost } from "../resources/hosts.js";
import { SealedSecret } from "../sealing.js";

const ById = Type.Object({ id: HostId }, { additionalProperties: false });

const {
  password: _password,
  privateKey: _privateKey,
  passphrase: _passphrase,
  ...publicHostFields
} = NewHost.properties;
const refusedOnTheBus = (what: string) =>
  Type.Optional(
    Type.Unknown({
      description: `Never accepted on the bus: a plain ${what} is refused with PLAINTEXT_SECRET; seal it into sealedCredentials`,
    }),
  );

/**
 * AddHost as it travels on the bus: NewHost with the password, private key and passphrase
 * sealed to the agent (docs/bus-integrity.md), so the command stream never holds them.
 */
export const AddHostRequest = Type.Object(
  {
    ...publicHostFields,
    sealedCredentials: Type.Optional(SealedSecret),
    password: refusedOnTheBus("password"),
    privateKey: refusedOnTheBus("private key"),
    passphrase: refusedOnTheBus("passphrase"),
  },
  {
    additionalProperties: false,
    $id: "AddHostRequest",
    description:
      "NewHost without plain secrets. sealedCredentials (required) is the JSON {password?, privateKey?, passphrase?} " +
      "sealed to the agent's key (KV bucket sdn-sealing-keys, key hypervisor-agent) with the associated data " +
      "'sdn/AddHost/v1' LF hypervisor LF address LF username",
  },
);
export type AddHostRequest = Static<typeof AddHostRequest>;

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
  request: AddHostRequest,
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
  delivery: "request",
  summary: "Reads one host; admin only.",
  request: ById,
  response: Host,
});

export const ListHosts = defineCommand({
  service: "hypervisor-agent",
  name: "ListHosts",
  delivery: "request",
  summary: "Lists every host; admin only.",
  request: Type.Object({}, { additionalProperties: false }),
  response: Type.Object({ hosts: Type.Array(Host) }, { additionalProperties: false }),
});

export const HOST_COMMANDS = [AddHost, RemoveHost, GetHost, ListHosts] as const;
