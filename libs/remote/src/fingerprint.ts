import { createHash } from "node:crypto";

/** OpenSSH's form of a host key fingerprint: "SHA256:" + unpadded base64 of the key's SHA-256. */
export const sshFingerprint = (key: Buffer): string =>
  `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
