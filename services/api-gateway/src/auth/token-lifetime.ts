import { HttpError } from "../http-errors.js";

/**
 * When a new token expires: the lifetime asked for, bounded by the operator's maximum
 * (SDN_TOKEN_MAX_LIFETIME_SECONDS), which is also the lifetime of a token asked without
 * one; undefined when neither is set (the token never expires).
 */
export const tokenExpiry = (
  requestedSeconds: number | undefined,
  maxSeconds: number | undefined,
  now = Date.now(),
): string | undefined => {
  if (requestedSeconds !== undefined && maxSeconds !== undefined && requestedSeconds > maxSeconds) {
    const message = `expiresInSeconds may be at most ${maxSeconds} (the operator's maximum token lifetime)`;
    throw new HttpError("VALIDATION_FAILED", message, { issues: [{ path: "/expiresInSeconds", message }] });
  }
  const seconds = requestedSeconds ?? maxSeconds;
  return seconds === undefined ? undefined : new Date(now + seconds * 1000).toISOString();
};

export const isExpired = (token: { expiresAt?: string | undefined }, now = Date.now()): boolean =>
  token.expiresAt !== undefined && Date.parse(token.expiresAt) <= now;
