import { createHash, randomBytes } from "node:crypto";

/** Bearer tokens: `sdn_` and 256 random bits, so a leaked one is recognisable in scans. */
export const generateToken = (): string => `sdn_${randomBytes(32).toString("base64url")}`;

/** Tokens are stored only as this hash; 256-bit random tokens need no slow KDF. */
export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");
