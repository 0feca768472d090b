/**
 * Keys whose values never reach a log line, whatever object they sit in. Matching is
 * by key name (case-insensitive), at any depth, so a secret nested in a request body or an
 * error's details is caught as well as a top-level one.
 */
const SECRET_KEY =
  /^(password|passwd|pass|secret|token|privatekey|private_key|passphrase|authorization|cookie|apikey|api_key|credentials?|nats_password|nats_token|sdn_admin_token|psk|ipsecpsk|sealedpsk)$/i;

/** Values that look like secrets even under an innocent key. */
const SECRET_VALUE = [
  /Bearer\s+[A-Za-z0-9._~+/=-]+/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

export const REDACTED = "[REDACTED]";

/** Text each SECRET_VALUE pattern starts with: a string without them is left as it is, unsearched. */
const SECRET_VALUE_MARKS = ["Bearer", "-----BEGIN "];

// Most strings of a log line hold neither mark; searching them with the patterns was most of
// what a line cost (issue 18: the gateway's access log).
const scrubString = (s: string): string =>
  SECRET_VALUE_MARKS.some((mark) => s.includes(mark))
    ? SECRET_VALUE.reduce((acc, re) => acc.replace(re, REDACTED), s)
    : s;

/** Returns a copy of `value` with secrets replaced; cycles and depth are bounded. */
export const redact = (value: unknown, depth = 0, visited?: WeakSet<object>): unknown => {
  if (typeof value === "string") return scrubString(value);
  if (value === null || typeof value !== "object" || depth > 8) return value;
  // Made for the first object only: a line's message and plain values need none.
  const seen = visited ?? new WeakSet<object>();
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubString(value.message),
      ...(value.stack === undefined ? {} : { stack: scrubString(value.stack) }),
      ...("code" in value ? { code: (value as { code: unknown }).code } : {}),
    };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1, seen);
  }
  return out;
};
