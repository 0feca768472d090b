import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { messages, type Message } from "./api.js";
import { methodResponse, parseMethodCall, str, toJson, type XapiValue } from "./codec.js";
import { XapiDatabase, XapiFailure } from "./model.js";
import { PROFILES, type XapiRelease } from "./profiles.js";
import { CLASSES } from "./records.js";

export type XapiFlavour = "xenserver" | "xcp-ng";
export type { XapiRelease };

export interface XapiEmulatorConfig {
  flavour: XapiFlavour;
  /** What the host reports itself to be; by default XenServer 8 or XCP-ng 8.3. */
  release?: XapiRelease;
  listen: { host: string; port: number };
  /** PEM certificate and key; without them the emulator speaks plain HTTP. */
  tls?: { cert: string; key: string };
  username: string;
  password: string;
  /** XAPI waits 5 s before answering a bad password; labs shorten it. */
  badPasswordDelayMs?: number;
  /** Where host.call_plugin finds plugins (XAPI: /etc/xapi.d/plugins). */
  pluginsDir: string;
  /** The interpreter standing in for dom0's Python (given to plugins as SDN_OVS_PYTHON). */
  dom0Python?: string;
  hostname: string;
  /** The host's management address (host.address, the PIF's IP). */
  address: string;
  /** The management interface: PIF device, the bridge holding the address, and its IP settings. */
  pif: { device: string; bridge: string; netmask: string; mac: string };
  networkBackend?: "openvswitch" | "bridge";
  /** When set, this host is a pool member and refuses logins with HOST_IS_SLAVE [master]. */
  masterAddress?: string;
  /** argv prefix of ovs-vsctl for this host (network.attach builds the network's bridge). */
  vsctl?: string[];
  /** The host's /etc/stunnel/certs (pool.certificate_install writes there). */
  certsDir?: string;
  /** The host's /etc/xensource/xapi-ssl.pem (the OVSDB manager's key and certificate). */
  xapiSslPem?: string;
}

const DEFAULT_RELEASE: Record<XapiFlavour, XapiRelease> = { xenserver: "xenserver-8", "xcp-ng": "xcp-ng-8.3" };
const GENERIC = [
  "get_all",
  "get_all_records",
  "get_record",
  "get_by_uuid",
  "add_to_other_config",
  "remove_from_other_config",
];

/**
 * An emulated XAPI endpoint of one host, following xapi-project/xen-api where the agent
 * and common clients (Xen Orchestra's xen-api, XenAPI.py) touch it: XML-RPC on any POST
 * path and JSON-RPC 1.0/2.0 on /jsonrpc and /json (ocaml/xapi/api_server.ml), complete
 * records with XAPI's types (records.ts), event.from/event.inject, the real error codes
 * and parameters (parameter counts without the session, gen_server.ml), a delay after a
 * bad password, HOST_IS_SLAVE on pool members, and host.call_plugin running real plugin
 * executables. Lab-only routes under /lab/ let tests add VMs and expire sessions.
 */
export class XapiEmulator {
  readonly db = new XapiDatabase();
  private readonly sessions = new Set<string>();
  /** Successful logins so far (tests check session reuse with it). */
  logins = 0;
  /** RPC requests by transport (tests check which one a client chose). */
  readonly requests = { xml: 0, json: 0 };
  private server: Server | undefined;
  private readonly messages: Map<string, Message>;
  readonly hostRef: string;
  readonly dom0Ref: string;
  private nextDomid = 1;
  /** host.call_plugin calls by `<plugin> <fn>`. */
  readonly pluginCalls = new Map<string, number>();
  /** Classes and messages the release does not have. */
  private readonly lacks: Set<string>;

  constructor(readonly config: XapiEmulatorConfig) {
    const c = config;
    const profile = PROFILES[c.release ?? DEFAULT_RELEASE[c.flavour]];
    this.lacks = new Set(profile.lacks);
    const db = this.db;
    this.hostRef = db.insert("host", {});
    // Both XenServer and XCP-ng label it so; only Xen Cloud Platform left labels empty.
    const legacy = profile.softwareVersion["product_brand"] === undefined;
    const mgmtNet = db.insert("network", {
      name_label: legacy ? "" : `Pool-wide network associated with ${c.pif.device}`,
      bridge: c.pif.bridge,
      MTU: 1500n,
      managed: true,
    });
    const pif = db.insert("PIF", {
      device: c.pif.device,
      host: this.hostRef,
      network: mgmtNet,
      IP: c.address,
      netmask: c.pif.netmask,
      ip_configuration_mode: "Static",
      management: true,
      currently_attached: true,
      VLAN: -1n,
      MTU: 1500n,
      MAC: c.pif.mac,
      physical: true,
      managed: true,
    });
    db.addTo("network", mgmtNet, "PIFs", pif);
    this.dom0Ref = db.insert("VM", {
      name_label: `Control domain on host: ${c.hostname}`,
      is_control_domain: true,
      power_state: "Running",
      resident_on: this.hostRef,
      domid: 0n,
      domain_type: "pv",
    });
    db.insert("VM", {
      name_label: "Debian Bookworm 12",
      is_a_template: true,
      is_default_template: true,
      power_state: "Halted",
      domid: -1n,
    });
    const metrics = db.insert("host_metrics", { live: true, memory_total: 17179869184n, last_updated: new Date() });
    db.update("host", this.hostRef, {
      name_label: c.hostname,
      hostname: c.hostname,
      address: c.address,
      enabled: true,
      API_version_major: 2n,
      API_version_minor: profile.apiMinor,
      API_version_vendor: "XenSource",
      software_version: {
        ...profile.softwareVersion,
        network_backend: c.networkBackend ?? "openvswitch",
        hostname: c.hostname,
        date: "2026-01-01",
      },
      PIFs: [pif],
      resident_VMs: [this.dom0Ref],
      control_domain: this.dom0Ref,
      metrics,
    });
    db.insert("pool", { master: this.hostRef });
    this.messages = messages({
      db,
      hostRef: this.hostRef,
      dom0Ref: this.dom0Ref,
      sessions: this.sessions,
      pluginsDir: c.pluginsDir,
      pluginEnv: c.dom0Python === undefined ? {} : { SDN_OVS_PYTHON: c.dom0Python },
      vsctl: c.vsctl ?? ["ovs-vsctl"],
      login: (user, password) => this.login(user, password),
      pluginCalls: this.pluginCalls,
      certsDir: c.certsDir ?? "/etc/stunnel/certs",
      xapiSslPem: c.xapiSslPem ?? "/etc/xensource/xapi-ssl.pem",
    });
  }

  async start(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.serve(req, res);
    this.server =
      this.config.tls === undefined
        ? createHttpServer(handler)
        : createHttpsServer({ cert: this.config.tls.cert, key: this.config.tls.key }, handler);
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.config.listen.port, this.config.listen.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return `${this.config.tls === undefined ? "http" : "https"}://${this.config.listen.host}:${port}/`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  /** Invalidates every session, as a toolstack restart does. */
  expireSessions(): void {
    this.sessions.clear();
  }

  /** Adds a running guest with VIFs (lab only; a real host gets them from VM.create/start). */
  addVm(name: string, vifs: { device: string; mac: string }[]): { ref: string; uuid: string; domid: string } {
    const domid = this.nextDomid++;
    const ref = this.db.insert("VM", {
      name_label: name,
      power_state: "Running",
      resident_on: this.hostRef,
      domid: BigInt(domid),
      domain_type: "hvm",
    });
    for (const v of vifs) {
      const vif = this.db.insert("VIF", {
        device: v.device,
        MAC: v.mac,
        VM: ref,
        currently_attached: true,
        MTU: 1500n,
      });
      this.db.addTo("VM", ref, "VIFs", vif);
    }
    this.db.addTo("host", this.hostRef, "resident_VMs", ref);
    return { ref, uuid: this.db.get("VM", ref)["uuid"] as string, domid: `${domid}` };
  }

  /** Every method this emulator answers, as system.listMethods lists them. */
  listMethods(): string[] {
    const generic = CLASSES.flatMap((cls) => [
      ...GENERIC.map((op) => `${cls}.${op}`),
      ...(XapiDatabase.fields(cls).includes("name_label") ? [`${cls}.get_by_name_label`] : []),
      ...XapiDatabase.fields(cls).map((f) => `${cls}.get_${f}`),
    ]);
    return [...new Set(["system.listMethods", ...this.messages.keys(), ...generic])]
      .filter((m) => !this.lacking(m))
      .sort();
  }

  /** Whether the release lacks the method or its whole class. */
  private lacking(method: string): boolean {
    return this.lacks.has(method) || this.lacks.has(method.split(".")[0] as string);
  }

  private async login(user: string, password: string): Promise<string> {
    if (user !== this.config.username || password !== this.config.password) {
      await new Promise((r) => setTimeout(r, this.config.badPasswordDelayMs ?? 5_000));
      throw new XapiFailure(["SESSION_AUTHENTICATION_FAILED", user, "Authentication failure"]);
    }
    const ref = `OpaqueRef:${randomUUID()}`;
    this.sessions.add(ref);
    this.logins++;
    return ref;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const path = (req.url ?? "/").split("?")[0] as string;
    if (path.startsWith("/lab/")) return this.serveLab(path, body, res);
    if (req.method !== "POST") {
      res.writeHead(404, { "content-type": "text/html" }).end("<html><body>Not found</body></html>");
      return;
    }
    // http_svr.ml matches the longest prefix: /jsonrpc and /json are JSON-RPC, the rest XML-RPC.
    if (path === "/jsonrpc" || path === "/json") {
      this.requests.json++;
      return this.serveJson(body, res);
    }
    this.requests.xml++;
    let call: { method: string; params: XapiValue[] };
    try {
      call = await parseMethodCall(body);
    } catch {
      res
        .writeHead(500, { "content-type": "text/html" })
        .end("<html><body><h1>Internal Server Error</h1></body></html>");
      return;
    }
    // api_server.ml: system.listMethods answers the bare array, every other call the envelope.
    const out: XapiValue =
      call.method === "system.listMethods"
        ? this.listMethods()
        : await this.invoke(call.method, call.params).then(
            (value) => ({ Status: "Success", Value: value }),
            (err: XapiFailure) => ({ Status: "Failure", ErrorDescription: err.description }),
          );
    res.writeHead(200, { "content-type": "text/xml" }).end(methodResponse(out));
  }

  /**
   * JSON-RPC (api_server.ml jsoncallback): v1.0 answers {result, error: [code, ...], id},
   * v2.0 {jsonrpc, result | error: {code: 1, message: CODE, data: [params]}, id}; the
   * result is the value itself, without the Status envelope.
   */
  private async serveJson(body: string, res: ServerResponse): Promise<void> {
    const send = (v: unknown) => void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(v));
    let call: { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown };
    try {
      call = JSON.parse(body) as typeof call;
      if (typeof call.method !== "string" || !Array.isArray(call.params) || !("id" in call)) throw new Error();
    } catch {
      res
        .writeHead(500, { "content-type": "text/html" })
        .end("<html><body><h1>Internal Server Error</h1></body></html>");
      return;
    }
    const v2 = call.jsonrpc === "2.0";
    const id = call.id;
    const method = call.method;
    try {
      const value =
        method === "system.listMethods" ? this.listMethods() : await this.invoke(method, call.params as XapiValue[]);
      send(v2 ? { jsonrpc: "2.0", result: toJson(value), id } : { result: toJson(value), error: null, id });
    } catch (err) {
      const [code = "", ...data] = (err as XapiFailure).description;
      send(
        v2
          ? { jsonrpc: "2.0", error: { code: 1, message: code, data }, id }
          : { result: null, error: [code, ...data], id },
      );
    }
  }

  private serveLab(path: string, body: string, res: ServerResponse): void {
    const reply = (v: unknown) =>
      void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(v ?? null));
    if (path === "/lab/expire-sessions") {
      this.expireSessions();
      return reply(null);
    }
    if (path === "/lab/plugin-calls") return reply(Object.fromEntries(this.pluginCalls));
    if (path === "/lab/vms") {
      const { name, vifs } = JSON.parse(body) as { name: string; vifs: { device: string; mac: string }[] };
      return reply(this.addVm(name, vifs));
    }
    res.writeHead(404).end();
  }

  /** Runs a call; resolves with its value or rejects with an XapiFailure. */
  private async invoke(method: string, params: XapiValue[]): Promise<XapiValue> {
    try {
      if (this.config.masterAddress !== undefined) throw new XapiFailure(["HOST_IS_SLAVE", this.config.masterAddress]);
      const m = this.lacking(method) ? undefined : (this.messages.get(method) ?? this.generic(method));
      if (m === undefined) throw new XapiFailure(["MESSAGE_METHOD_UNKNOWN", method]);
      // gen_server.ml: the counts leave the session out, expected is the count without defaults.
      const given = m.noSession === true ? params.length : params.length - 1;
      const [min, max] = typeof m.arity === "number" ? [m.arity, m.arity] : m.arity;
      if (given < min || given > max) {
        throw new XapiFailure(["MESSAGE_PARAMETER_COUNT_MISMATCH", method, `${min}`, `${Math.max(given, 0)}`]);
      }
      if (m.noSession === true) return await m.run("", params);
      const [session, ...args] = params;
      if (!this.sessions.has(str(session))) throw new XapiFailure(["SESSION_INVALID", str(session)]);
      return await m.run(str(session), args);
    } catch (err) {
      throw err instanceof XapiFailure ? err : new XapiFailure(["INTERNAL_ERROR", (err as Error).message]);
    }
  }

  /** Field accessors of the record classes, generated by xapi for every class. */
  private generic(method: string): Message | undefined {
    const [name, op] = method.split(".") as [string, string | undefined];
    const cls = this.db.classNamed(name);
    if (op === undefined || cls === undefined || cls !== name) return undefined;
    const db = this.db;
    if (op === "get_all_records") return { arity: 0, run: () => db.all(cls) };
    if (op === "get_all") return { arity: 0, run: () => db.refs(cls) };
    if (op === "get_record") return { arity: 1, run: (_s, [ref]) => db.get(cls, str(ref)) };
    if (op === "get_by_name_label" && XapiDatabase.fields(cls).includes("name_label"))
      return { arity: 1, run: (_s, [l]) => db.refs(cls, (r) => r["name_label"] === str(l)) };
    if (op === "get_by_uuid") {
      return {
        arity: 1,
        run: (_s, [uuid]) => {
          const ref = db.refs(cls, (r) => r["uuid"] === str(uuid))[0];
          if (ref === undefined) throw new XapiFailure(["UUID_INVALID", cls, str(uuid)]);
          return ref;
        },
      };
    }
    if (op === "add_to_other_config") {
      return {
        arity: 3,
        run: (_s, [ref, key, value]) => {
          const oc = db.get(cls, str(ref))["other_config"] as Record<string, XapiValue>;
          if (str(key) in oc) throw new XapiFailure(["MAP_DUPLICATE_KEY", cls, "other_config", str(ref), str(key)]);
          db.update(cls, str(ref), { other_config: { ...oc, [str(key)]: str(value) } });
          return "";
        },
      };
    }
    if (op === "remove_from_other_config") {
      return {
        arity: 2,
        run: (_s, [ref, key]) => {
          const { [str(key)]: _gone, ...rest } = db.get(cls, str(ref))["other_config"] as Record<string, XapiValue>;
          db.update(cls, str(ref), { other_config: rest });
          return "";
        },
      };
    }
    const field = op.startsWith("get_") ? op.slice(4) : undefined;
    if (field === undefined || !XapiDatabase.fields(cls).includes(field)) return undefined;
    return { arity: 1, run: (_s, [ref]) => db.get(cls, str(ref))[field] as XapiValue };
  }
}
