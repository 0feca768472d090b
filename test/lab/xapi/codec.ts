import { createRequire } from "node:module";
import { Readable } from "node:stream";

/** A float field (XML `<double>`); plain JS numbers are only ever what a client sent. */
export class Double {
  constructor(readonly value: number) {}
}

/**
 * A value as XAPI types it: string (also enums and refs), bigint (int64), Double (float),
 * boolean, Date (DateTime), arrays (sets), objects (maps and records). `number` only
 * appears in decoded input (a client's `<int>`/`<i4>` or a JSON number) and in
 * event.from's valid_ref_counts, which XAPI sends as `<i4>`.
 */
export type XapiValue =
  string | boolean | bigint | number | Double | Date | null | XapiValue[] | { [k: string]: XapiValue };

export const NULL_REF = "OpaqueRef:NULL";

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** XAPI's DateTime text: ISO 8601 basic date, e.g. 20260101T12:00:00Z (xapi-stdext Date). */
export const dateText = (d: Date): string =>
  d
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/-/g, "");

/** A scalar parameter as text (refs, names, numbers sent as strings); structures as JSON. */
export const str = (v: XapiValue | undefined): string =>
  typeof v === "string"
    ? v
    : typeof v === "number" || typeof v === "boolean" || typeof v === "bigint"
      ? `${v}`
      : JSON.stringify(toJson(v ?? ""));

/**
 * XML-RPC as XAPI speaks it (ocaml-rpc xmlrpc.ml, non-strict): strings and int64 are bare
 * `<value>text</value>`, booleans `<boolean>`, floats `<double>`, DateTime
 * `<dateTime.iso8601>`, JS numbers (valid_ref_counts) `<i4>`.
 */
export const encodeValue = (v: XapiValue): string => {
  if (typeof v === "string") return `<value>${escape(v)}</value>`;
  if (typeof v === "bigint") return `<value>${v}</value>`;
  if (typeof v === "boolean") return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (typeof v === "number") return `<value><i4>${v}</i4></value>`;
  if (v instanceof Double) return `<value><double>${v.value}</double></value>`;
  if (v instanceof Date) return `<value><dateTime.iso8601>${dateText(v)}</dateTime.iso8601></value>`;
  if (v === null) return "<value><nil/></value>";
  if (Array.isArray(v)) return `<value><array><data>${v.map(encodeValue).join("")}</data></array></value>`;
  const members = Object.entries(v)
    .map(([k, x]) => `<member><name>${escape(k)}</name>${encodeValue(x)}</member>`)
    .join("");
  return `<value><struct>${members}</struct></value>`;
};

/** The JSON form (ocaml-rpc jsonrpc.ml): int64 and floats are numbers, DateTime a string. */
export const toJson = (v: XapiValue): unknown => {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Double) return v.value;
  if (v instanceof Date) return dateText(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
};

export const methodResponse = (v: XapiValue): string =>
  `<?xml version="1.0"?><methodResponse><params><param>${encodeValue(v)}</param></params></methodResponse>`;

export const methodCall = (method: string, params: readonly XapiValue[]): string =>
  `<?xml version="1.0"?><methodCall><methodName>${escape(method)}</methodName><params>${params
    .map((p) => `<param>${encodeValue(p)}</param>`)
    .join("")}</params></methodCall>`;

interface XmlrpcDeserializer {
  deserializeMethodCall(stream: Readable, cb: (err: Error | null, method?: string, params?: XapiValue[]) => void): void;
  deserializeMethodResponse(
    stream: Readable,
    cb: (err: (Error & { faultCode?: unknown }) | null, v?: XapiValue) => void,
  ): void;
}
const Deserializer = createRequire(import.meta.url)("xmlrpc/lib/deserializer") as new () => XmlrpcDeserializer;

export const parseMethodCall = (xml: string): Promise<{ method: string; params: XapiValue[] }> =>
  new Promise((resolve, reject) =>
    new Deserializer().deserializeMethodCall(Readable.from([xml]), (err, method, params) =>
      err !== null ? reject(err) : resolve({ method: method as string, params: params ?? [] }),
    ),
  );

/** Decodes a methodResponse; a `<fault>` rejects with an error carrying faultCode. */
export const parseMethodResponse = (xml: string): Promise<XapiValue> =>
  new Promise((resolve, reject) =>
    new Deserializer().deserializeMethodResponse(Readable.from([xml]), (err, v) =>
      err !== null ? reject(err) : resolve(v ?? null),
    ),
  );
