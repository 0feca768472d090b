import { createRequire } from "node:module";
import { Readable } from "node:stream";

/**
 * XML-RPC as XAPI speaks it (ocaml-rpc, non-strict): strings and int64 values are bare
 * `<value>text</value>`, booleans `<boolean>`, doubles `<double>`, and every answer is the
 * struct {Status, Value | ErrorDescription}. Decoding accepts every form a client may send.
 */
export type XapiValue = string | boolean | number | null | XapiValue[] | { [k: string]: XapiValue };

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A scalar parameter as text (refs, names, numbers sent as strings); structures as JSON. */
export const str = (v: XapiValue | undefined): string =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? `${v}` : JSON.stringify(v ?? "");

export const encodeValue = (v: XapiValue): string => {
  if (typeof v === "string") return `<value>${escape(v)}</value>`;
  if (typeof v === "boolean") return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  // int64 travels as a bare string; only non-integral numbers are doubles.
  if (typeof v === "number")
    return Number.isInteger(v) ? `<value>${v}</value>` : `<value><double>${v}</double></value>`;
  if (v === null) return "<value><nil/></value>";
  if (Array.isArray(v)) return `<value><array><data>${v.map(encodeValue).join("")}</data></array></value>`;
  const members = Object.entries(v)
    .map(([k, x]) => `<member><name>${escape(k)}</name>${encodeValue(x)}</member>`)
    .join("");
  return `<value><struct>${members}</struct></value>`;
};

export const methodResponse = (v: XapiValue): string =>
  `<?xml version="1.0"?><methodResponse><params><param>${encodeValue(v)}</param></params></methodResponse>`;

export const methodCall = (method: string, params: readonly XapiValue[]): string =>
  `<?xml version="1.0"?><methodCall><methodName>${escape(method)}</methodName><params>${params
    .map((p) => `<param>${encodeValue(p)}</param>`)
    .join("")}</params></methodCall>`;

export const success = (value: XapiValue): XapiValue => ({ Status: "Success", Value: value });
export const failure = (description: readonly string[]): XapiValue => ({
  Status: "Failure",
  ErrorDescription: [...description],
});

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
