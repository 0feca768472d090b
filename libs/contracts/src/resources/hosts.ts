import Type, { type Static } from "@sdn/typebox";
import { SUBJECT_TOKEN_PATTERN } from "../subjects.js";

export const HYPERVISORS = ["xenserver", "xcp-ng", "kvm"] as const;
export type Hypervisor = (typeof HYPERVISORS)[number];
export const isXapiHypervisor = (h: Hypervisor): boolean => h !== "kvm";

export const HostId = Type.String({
  pattern: SUBJECT_TOKEN_PATTERN,
  description: "Host id; also the token in the host's agent subjects sdn.agent.<hostId>.*",
  examples: ["3f6c0d0e-4b9a-5a8e-9c1f-2d7e8b6a1c40"],
});

/** A Linux interface name: at most 15 characters (IFNAMSIZ - 1). */
export const InterfaceName = Type.String({ pattern: "^[A-Za-z0-9_.-]{1,15}$", examples: ["br-phy", "vif3.0"] });

export const Ipv4 = Type.String({ format: "ipv4", examples: ["10.0.0.11"] });
export const MacAddress = Type.String({
  pattern: "^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$",
  examples: ["02:16:3e:4a:00:01"],
});

/** OpenSSH's SHA-256 host key fingerprint, as `ssh-keygen -l -E sha256` prints it. */
const hostKeyFingerprint = (description: string) =>
  Type.String({
    pattern: "^SHA256:[A-Za-z0-9+/]{43}$",
    description,
    examples: ["SHA256:e0LcbQspVwzoIQCjmHgYS+wTQbg9JzNsJOngJFXHWFw"],
  });
export const HostKeyFingerprint = hostKeyFingerprint("The pinned SSH host key");

export const HostState = Type.Enum(["Up", "Disconnected"], {
  description: "Up: the agent reaches the host and its programs; Disconnected: it does not (see the events)",
});
export type HostState = Static<typeof HostState>;

export const Platform = Type.Object(
  {
    name: Type.String({
      description: "Product (XenServer), platform (XCP) or OS of a KVM host",
      examples: ["XenServer"],
    }),
    version: Type.String({ examples: ["8.4.0"] }),
    ovsVersion: Type.Optional(Type.String({ examples: ["3.1.0"] })),
  },
  { additionalProperties: false, $id: "Platform" },
);
export type Platform = Static<typeof Platform>;

export const TunnelInterface = Type.Object(
  {
    label: Type.Optional(Type.String({ description: "Network name-label it was found by, if any" })),
    device: InterfaceName,
    ip: Ipv4,
    netmask: Ipv4,
    prefixLength: Type.Integer({ minimum: 0, maximum: 32 }),
    mac: Type.Optional(Type.Union([MacAddress, Type.Null()])),
  },
  {
    additionalProperties: false,
    $id: "TunnelInterface",
    description: "The host's GRE tunnel endpoint",
    examples: [{ device: "xenbr0", ip: "10.0.0.11", netmask: "255.255.255.0", prefixLength: 24 }],
  },
);
export type TunnelInterface = Static<typeof TunnelInterface>;

export const Host = Type.Object(
  {
    id: HostId,
    name: Type.String(),
    hypervisor: Type.Enum([...HYPERVISORS]),
    address: Type.String({ description: "Address the agent connects to" }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    username: Type.String(),
    state: HostState,
    platform: Platform,
    tunnelInterface: TunnelInterface,
    programsVersion: Type.String({ description: "Version of the host programs the host runs" }),
    hostKeyFingerprint: Type.Optional(HostKeyFingerprint),
    tunnelNetworkLabel: Type.Optional(Type.String()),
    tls: Type.Optional(
      Type.Enum(["system-ca", "pinned", "insecure"], { description: "How the XAPI certificate is checked" }),
    ),
    createdAt: Type.String({ format: "date-time" }),
    stateChangedAt: Type.String({ format: "date-time" }),
  },
  {
    additionalProperties: false,
    $id: "Host",
    description: "A hypervisor host driven by the hypervisor-agent. Credentials are never part of it.",
    examples: [
      {
        id: "3f6c0d0e-4b9a-5a8e-9c1f-2d7e8b6a1c40",
        name: "xen-01",
        hypervisor: "xenserver",
        address: "10.0.0.11",
        port: 443,
        username: "root",
        state: "Up",
        platform: { name: "XenServer", version: "8.4.0", ovsVersion: "3.1.0" },
        tunnelInterface: { device: "xenbr0", ip: "10.0.0.11", netmask: "255.255.255.0", prefixLength: 24 },
        programsVersion: "1.0.0",
        tls: "pinned",
        createdAt: "2026-01-01T00:00:00.000Z",
        stateChangedAt: "2026-01-01T00:00:00.000Z",
      },
    ],
  },
);
export type Host = Static<typeof Host>;

export const NewHost = Type.Object(
  {
    name: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$", description: "Unique name" }),
    hypervisor: Type.Enum([...HYPERVISORS]),
    address: Type.String({
      pattern: "^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$",
      description: "IPv4 address or DNS name of the host (XAPI: the pool member to drive)",
    }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "Default 443 (XAPI) or 22 (SSH)" })),
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: "XAPI password, also used for SSH to the control domain unless privateKey is given (write-only)",
      }),
    ),
    privateKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 16384,
        description: "SSH private key, OpenSSH or PEM (write-only); required for KVM, optional for XAPI hosts' SSH",
      }),
    ),
    passphrase: Type.Optional(Type.String({ maxLength: 1024, description: "Passphrase of the private key" })),
    hostKeyFingerprint: Type.Optional(
      hostKeyFingerprint(
        "The host's SSH host key to pin (KVM: required unless trusted on first contact; XAPI: lets the agent deploy its plugin over SSH)",
      ),
    ),
    trustHostKeyOnFirstContact: Type.Optional(
      Type.Boolean({ description: "Record the SSH host key seen on first contact instead of a given fingerprint" }),
    ),
    tunnelNetworkLabel: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: "XAPI: name-label of the network for tunnels; KVM: the interface name",
      }),
    ),
    tlsCertificate: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 65536,
        description: "XAPI: PEM of the CA that signed the host's certificate, or of the certificate itself (pinned)",
      }),
    ),
    tlsInsecure: Type.Optional(Type.Boolean({ description: "XAPI: skip certificate checks (labs only)" })),
  },
  {
    additionalProperties: false,
    $id: "NewHost",
    examples: [
      {
        name: "kvm-01",
        hypervisor: "kvm",
        address: "10.0.0.21",
        username: "root",
        privateKey: "<the PEM text of the private key file>",
        hostKeyFingerprint: "SHA256:e0LcbQspVwzoIQCjmHgYS+wTQbg9JzNsJOngJFXHWFw",
        tunnelNetworkLabel: "cloudbr0",
      },
    ],
  },
);
export type NewHost = Static<typeof NewHost>;
