import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The secret key is missing, malformed or does not open a stored secret. */
export class SecretKeyError extends Error {
  override readonly name = "SecretKeyError";
}

const VERSION = "v1";

/**
 * AES-256-GCM for credentials at rest. Each sealed value has its own random IV, and is
 * bound to the object it belongs to (associated data, e.g. the host id), so a ciphertext
 * copied onto another record does not open.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new SecretKeyError("the secret key must be 32 bytes");
  }

  seal(plaintext: string, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(boundTo));
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), data.toString("base64")].join(":");
  }

  open(sealed: string, boundTo: string): string {
    const [version, iv, tag, data] = sealed.split(":");
    if (version !== VERSION || iv === undefined || tag === undefined || data === undefined) {
      throw new SecretKeyError("a stored secret has an unknown format");
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"));
      decipher.setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(data, "base64")), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretKeyError("a stored secret does not open with this key (was SDN_SECRET_KEY changed?)");
    }
  }
}

/**
 * The key from SDN_SECRET_KEY (base64 of 32 bytes), or else from `<dataDir>/<fileName>`,
 * created with mode 0600 on first start. Replicas on several machines must share the
 * variable; the file only suits one machine.
 */
export const loadSecretKey = (configured: string | undefined, dataDir: string, fileName: string): Buffer => {
  if (configured !== undefined) {
    const key = Buffer.from(configured, "base64");
    if (key.length !== 32) throw new SecretKeyError("SDN_SECRET_KEY must be the base64 of 32 random bytes");
    return key;
  }
  const file = join(dataDir, fileName);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Written aside and linked into place: a replica starting at the same time never reads half a key.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(draft, randomBytes(32).toString("base64"), { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(draft);
  }
  const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  if (key.length !== 32) throw new SecretKeyError(`${file} does not hold a base64 32-byte key`);
  return key;
};
