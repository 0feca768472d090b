import { SEALING_ALGORITHM, type SealedSecret, type SealingKey } from "@sdn/contracts";
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { BusError } from "./errors.js";

/** A sealed secret that does not open: another key, another context, or tampered with. */
export class SealedSecretError extends BusError {
  override readonly name = "SealedSecretError";
  constructor(message: string) {
    super("VALIDATION_FAILED", message);
  }
}

/** The fixed DER prefixes around a raw 32-byte X25519 key (RFC 8410). */
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");
const INFO = Buffer.from("sdn-sealed-secret/v1");

const rawPublic = (key: KeyObject): Buffer => key.export({ format: "der", type: "spki" }).subarray(SPKI_X25519.length);
const publicKeyObject = (raw: Buffer): KeyObject =>
  createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: "der", type: "spki" });
const keyIdOf = (raw: Buffer): string => createHash("sha256").update(raw).digest("hex").slice(0, 16);

const aesKey = (shared: Buffer, ephemeral: Buffer, recipient: Buffer): Buffer =>
  Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ephemeral, recipient]), INFO, 32));

/** The agent's sealing key pair: its public half is published, the private half never leaves it. */
export interface SealingKeyPair {
  readonly publicKey: SealingKey;
  readonly privateKey: KeyObject;
}

/**
 * Derives the X25519 pair from the agent's 32-byte secret key with HKDF (a label of its
 * own, so the pair is independent of the at-rest AES key): every replica holding the same
 * SDN_SECRET_KEY derives the same pair, and none has to store another secret.
 */
export const deriveSealingKeyPair = (secretKey: Buffer): SealingKeyPair => {
  const seed = Buffer.from(hkdfSync("sha256", secretKey, Buffer.alloc(0), "sdn-agent-sealing-x25519/v1", 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, seed]), format: "der", type: "pkcs8" });
  const raw = rawPublic(createPublicKey(privateKey));
  return {
    privateKey,
    publicKey: { algorithm: SEALING_ALGORITHM, keyId: keyIdOf(raw), publicKey: raw.toString("base64") },
  };
};

/** Seals `plaintext` to `recipient`; `context` is bound as associated data and must be given again to open. */
export const sealSecret = (recipient: SealingKey, plaintext: string, context: string): SealedSecret => {
  const recipientRaw = Buffer.from(recipient.publicKey, "base64");
  if (recipientRaw.length !== 32 || keyIdOf(recipientRaw) !== recipient.keyId) {
    throw new SealedSecretError("the sealing key is malformed: its keyId does not match its public key");
  }
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralRaw = rawPublic(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: publicKeyObject(recipientRaw) });
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", aesKey(shared, ephemeralRaw, recipientRaw), iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return {
    algorithm: SEALING_ALGORITHM,
    keyId: recipient.keyId,
    ephemeralPublicKey: ephemeralRaw.toString("base64"),
    iv: iv.toString("base64"),
    ciphertext: ciphertext.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
  };
};

/** Opens a secret sealed to `pair`; throws SealedSecretError (saying why, never what) when it does not open. */
export const openSealedSecret = (pair: SealingKeyPair, sealed: SealedSecret, context: string): string => {
  if (sealed.keyId !== pair.publicKey.keyId) {
    throw new SealedSecretError(
      `the secret is sealed to key ${sealed.keyId}, but this agent's key is ${pair.publicKey.keyId}: seal it again to the key in KV`,
    );
  }
  try {
    const ephemeralRaw = Buffer.from(sealed.ephemeralPublicKey, "base64");
    const shared = diffieHellman({ privateKey: pair.privateKey, publicKey: publicKeyObject(ephemeralRaw) });
    const recipientRaw = Buffer.from(pair.publicKey.publicKey, "base64");
    const decipher = createDecipheriv(
      "aes-256-gcm",
      aesKey(shared, ephemeralRaw, recipientRaw),
      Buffer.from(sealed.iv, "base64"),
    );
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    throw new SealedSecretError("the sealed secret does not open: tampered with, or sealed for another context");
  }
};
