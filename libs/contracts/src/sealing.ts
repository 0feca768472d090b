import Type, { type Static } from "@sdn/typebox";

/**
 * Secrets sealed to the hypervisor-agent (docs/bus-integrity.md). The agent derives an
 * X25519 key pair from its SDN_SECRET_KEY (so every replica sharing the key has the same
 * pair) and publishes the public half in KV; a sender seals with ECIES: an ephemeral X25519
 * key, ECDH, HKDF-SHA256 and AES-256-GCM, the context bound as associated data. Only the
 * sealed form ever travels on a persisted subject.
 */
export const SEALING_ALGORITHM = "X25519-HKDF-SHA256-A256GCM" as const;

/** KV bucket holding the public sealing keys; its key `hypervisor-agent` is the agent's. */
export const SEALING_KEYS_BUCKET = "sdn-sealing-keys";
export const AGENT_SEALING_KEY = "hypervisor-agent";

const Base64 = (description: string, maxLength = 65_536) =>
  Type.String({ pattern: "^[A-Za-z0-9+/]+={0,2}$", maxLength, description });

export const SealingKey = Type.Object(
  {
    algorithm: Type.Literal(SEALING_ALGORITHM),
    keyId: Type.String({
      pattern: "^[0-9a-f]{16}$",
      description: "First 16 hex digits of SHA-256 over the raw public key",
    }),
    publicKey: Base64("The raw 32-byte X25519 public key", 64),
  },
  { additionalProperties: false, $id: "SealingKey", description: "A public key that secrets are sealed to" },
);
export type SealingKey = Static<typeof SealingKey>;

export const SealedSecret = Type.Object(
  {
    algorithm: Type.Literal(SEALING_ALGORITHM),
    keyId: Type.String({ pattern: "^[0-9a-f]{16}$", description: "The keyId of the SealingKey it is sealed to" }),
    ephemeralPublicKey: Base64("The sender's one-time raw 32-byte X25519 public key", 64),
    iv: Base64("The 12-byte AES-GCM nonce", 32),
    ciphertext: Base64("AES-256-GCM ciphertext of the UTF-8 JSON secret"),
    tag: Base64("The 16-byte AES-GCM tag", 32),
  },
  {
    additionalProperties: false,
    $id: "SealedSecret",
    description:
      "ECIES: key = HKDF-SHA256(X25519(ephemeral, agent), salt = ephemeralPublicKey || publicKey, " +
      "info = 'sdn-sealed-secret/v1', 32 bytes); AES-256-GCM with the context string as associated data",
  },
);
export type SealedSecret = Static<typeof SealedSecret>;

/** What AddHost's sealedCredentials opens to. */
export interface HostCredentials {
  password?: string;
  privateKey?: string;
  passphrase?: string;
}

/**
 * The associated data AddHost credentials are sealed with: sealed credentials copied into
 * a command for another host, address or user do not open.
 */
export const addHostSealingContext = (req: { hypervisor: string; address: string; username: string }): string =>
  `sdn/AddHost/v1\n${req.hypervisor}\n${req.address}\n${req.username}`;

/**
 * The context an encrypted network's IPsec pre-shared key is sealed under: bound to the
 * network, so a sealed key copied onto another network's tunnels does not open.
 */
export const ipsecPskSealingContext = (networkId: string): string => `sdn/ipsec-psk/v1\n${networkId}`;
