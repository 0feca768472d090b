import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveSealingKeyPair, openSealedSecret, sealSecret, SealedSecretError } from "./sealing.js";

describe("secrets sealed to the agent", () => {
  const secretKey = randomBytes(32);
  const pair = deriveSealingKeyPair(secretKey);

  it("derives one key pair from one secret key, so replicas sharing the key share the pair", () => {
    expect(deriveSealingKeyPair(Buffer.from(secretKey)).publicKey).toEqual(pair.publicKey);
    expect(deriveSealingKeyPair(randomBytes(32)).publicKey.keyId).not.toBe(pair.publicKey.keyId);
    expect(Buffer.from(pair.publicKey.publicKey, "base64")).toHaveLength(32);
  });

  it("opens what was sealed to it in the same context, and nothing else", () => {
    const sealed = sealSecret(pair.publicKey, "hunter2", "ctx-a");
    expect(JSON.stringify(sealed)).not.toContain("hunter2");
    expect(openSealedSecret(pair, sealed, "ctx-a")).toBe("hunter2");
    // A fresh ephemeral key each time: two seals of one secret differ.
    expect(sealSecret(pair.publicKey, "hunter2", "ctx-a").ciphertext).not.toBe(sealed.ciphertext);
    expect(() => openSealedSecret(pair, sealed, "ctx-b")).toThrow(SealedSecretError);
    const flipped = Buffer.from(sealed.ciphertext, "base64");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => openSealedSecret(pair, { ...sealed, ciphertext: flipped.toString("base64") }, "ctx-a")).toThrow(
      /does not open/,
    );
    const other = deriveSealingKeyPair(randomBytes(32));
    expect(() => openSealedSecret(other, sealed, "ctx-a")).toThrow(/sealed to key/);
  });

  it("refuses a sealing key whose id does not match its public key", () => {
    expect(() => sealSecret({ ...pair.publicKey, keyId: "0000000000000000" }, "x", "c")).toThrow(/malformed/);
  });
});
