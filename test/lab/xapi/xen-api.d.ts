/**
 * The part of Xen Orchestra's `xen-api` client (ISC, untyped JavaScript) the fidelity
 * tests use: node_modules/xen-api/index.mjs.
 */
declare module "xen-api" {
  interface XapiObject {
    $type: string;
    $ref: string;
    [field: string]: unknown;
  }
  interface Xapi {
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    readonly objectsFetched: Promise<void>;
    readonly objects: { all: Record<string, XapiObject> };
    call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
    barrier(ref?: string): Promise<XapiObject | undefined>;
  }
  export function createClient(opts: {
    url: string;
    auth: { user: string; password: string };
    allowUnauthorized?: boolean;
    transport?: "auto" | "json-rpc" | "xml-rpc";
    watchEvents?: boolean | string[];
  }): Xapi;
}
