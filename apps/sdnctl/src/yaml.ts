/**
 * YAML for the plain data the API returns (objects, arrays, strings, numbers, booleans,
 * null): block style, strings quoted only when plain text would be read as something else.
 * A quoted string is written as a JSON string, which is also a valid YAML double-quoted one.
 */

// Plain scalars that YAML 1.1 or 1.2 would read as a bool, null or number.
const SPECIAL =
  /^(?:~|null|true|false|yes|no|on|off|y|n|[-+]?(?:\.inf|\.nan)|[-+]?[0-9][0-9_.:eE+-]*|0x[0-9a-f]+|0o[0-7]+)$/i;

// YAML 1.1 readers (PyYAML) turn an unquoted ISO date or timestamp into a date object.
const TIMESTAMP = /^\d{4}-\d\d?-\d\d?(?:$|[Tt ])/;

const needsQuotes = (s: string): boolean =>
  s === "" ||
  SPECIAL.test(s) ||
  TIMESTAMP.test(s) ||
  /^[\s\-?:,[\]{}#&*!|>'"%@`]/.test(s) ||
  /\s$/.test(s) ||
  /: |:$| #/.test(s) ||
  [...s].some((c) => {
    const code = c.codePointAt(0) ?? 0;
    // Control characters and the Unicode line breaks need the escapes of a quoted string.
    return code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029;
  });

const scalar = (value: unknown): string => {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return needsQuotes(value) ? JSON.stringify(value) : value;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  if (typeof value === "boolean") return String(value);
  // A bigint or other odd scalar: its JSON-ish text, quoted.
  return JSON.stringify(typeof value === "bigint" ? value.toString() : JSON.stringify(value));
};

const isBlock = (value: unknown): value is object =>
  typeof value === "object" &&
  value !== null &&
  (Array.isArray(value) ? value.length > 0 : Object.values(value).some((v) => v !== undefined));

const inline = (value: unknown): string => {
  if (Array.isArray(value)) return "[]";
  if (typeof value === "object" && value !== null) return "{}";
  return scalar(value);
};

const lines = (value: unknown): string[] => {
  if (!isBlock(value)) return [inline(value)];
  if (Array.isArray(value)) {
    return value.flatMap((item: unknown) => {
      const [first = "", ...rest] = lines(item);
      return [`- ${first}`, ...rest.map((l) => `  ${l}`)];
    });
  }
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .flatMap(([key, v]: [string, unknown]) => {
      const k = scalar(key);
      return isBlock(v) ? [`${k}:`, ...lines(v).map((l) => `  ${l}`)] : [`${k}: ${inline(v)}`];
    });
};

/** The YAML document of `value`, ending in a newline. */
export const toYaml = (value: unknown): string => `${lines(value).join("\n")}\n`;
