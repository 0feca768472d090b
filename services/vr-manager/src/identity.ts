import ssh2 from "ssh2";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { SecretBox } from "@sdn/runtime";
import type { VrStore } from "./store.js";

const { utils } = ssh2;
const KEY = "ssh";
const BOUND_TO = "vr-manager/ssh-identity";

/** The key the vr-manager logs in to routers with. */
export interface SshIdentity {
  privateKey: string;
  /** OpenSSH public key line, for the routers' authorized_keys. */
  publicKey: string;
  fingerprint: string;
}

/** OpenSSH's fingerprint of a public key line: "SHA256:" + unpadded base64 of the blob's SHA-256. */
export const publicKeyFingerprint = (line: string): string => {
  const blob = Buffer.from(line.trim().split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
};

const fromPrivate = (privateKey: string): SshIdentity => {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`SDN_VR_SSH_KEY_FILE does not hold a usable key: ${parsed.message}`);
  const publicKey = `${parsed.type} ${parsed.getPublicSSH().toString("base64")} sdn-vr-manager`;
  return { privateKey, publicKey, fingerprint: publicKeyFingerprint(publicKey) };
};

/**
 * The configured key file, or else the key stored sealed in KV, generated (ed25519) by the
 * first replica that needs it: an atomic create, so replicas all end up with the same key.
 */
export const loadIdentity = async (
  keyFile: string | undefined,
  store: VrStore,
  box: SecretBox,
): Promise<SshIdentity> => {
  if (keyFile !== undefined) return fromPrivate(readFileSync(keyFile, "utf8"));
  const existing = await store.identity.get(KEY);
  if (existing === undefined) {
    const pair = utils.generateKeyPairSync("ed25519", { comment: "sdn-vr-manager" });
    await store.identity.createIfAbsent(KEY, {
      sealedPrivateKey: box.seal(pair.private, BOUND_TO),
      publicKey: pair.public.trim(),
    });
  }
  const stored = await store.identity.get(KEY);
  if (stored === undefined) throw new Error("the vr-manager's SSH key could not be stored");
  return {
    privateKey: box.open(stored.value.sealedPrivateKey, BOUND_TO),
    publicKey: stored.value.publicKey,
    fingerprint: publicKeyFingerprint(stored.value.publicKey),
  };
};
