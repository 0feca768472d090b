import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { failure, methodResponse, parseMethodCall, str, success, type XapiValue } from "./codec.js";
import { NULL_REF, XapiDatabase, XapiFailure, type XapiRecord } from "./model.js";
import { runPlugin } from "./plugins.js";

export type XapiFlavour = "xenserver" | "xcp-ng";

export interface XapiEmulatorConfig {
  flavour: XapiFlavour;
  listen: { host: string; port: number };
  /** PEM certificate and key; without them the emulator speaks plain HTTP. */
  tls?: { cert: string; key: string };
  username: string;
  password: string;
  /** XAPI waits 5 s before answering a bad password; labs shorten it. */
  badPasswordDelayMs?: number;
  /** Where host.call_plugin finds plugins (XAPI: /etc/xapi.d/plugins). */
  pluginsDir: string;
  hostname: string;
  /** The host's management address (host.address, the PIF's IP). */
  address: string;
  /** The management interface: PIF device, the bridge holding the address, and its IP settings. */
  pif: { device: string; bridge: string; netmask: string; mac: string };
  networkBackend?: "openvswitch" | "bridge";
  /** When set, this host is a pool member and refuses logins with HOST_IS_SLAVE [master]. */
  masterAddress?: string;
  /** argv prefix of ovs-vsctl for this host (VIF.plug on dom0 builds the network's bridge). */
  vsctl?: string[];
}

type Handler = (params: XapiValue[]) => XapiValue | Promise<XapiValue>;

const SOFTWARE_VERSION: Record<XapiFlavour, Record<string, string>> = {
  xenserver: {
    product_version: "8.4.0",
    product_version_text: "8",
    product_version_text_short: "8",
    product_brand: "XenServer",
    platform_name: "XCP",
    platform_version: "3.4.0",
    build_number: "stream",
    xapi: "24.19",
    xen: "4.17.4",
    linux: "4.19.0+1",
  },
  // XCP-flavoured hosts leave the product_* keys out (empty keys are omitted by XAPI).
  "xcp-ng": { platform_name: "XCP", platform_version: "3.4.0", xapi: "1.249", xen: "4.13.5", linux: "4.19.0+1" },
};

/**
 * An emulated XAPI endpoint of one host, following the wire facts of the real one:
 * XML-RPC on POST / (any path), envelope {Status, Value | ErrorDescription}, bare string
 * and int64 values, the real error codes and parameters, a delay after a bad password,
 * HOST_IS_SLAVE on pool members, and host.call_plugin running real plugin executables.
 * Lab-only routes under /lab/ let tests add VMs and expire sessions.
 */
export class XapiEmulator {
  readonly db = new XapiDatabase();
  private readonly sessions = new Set<string>();
  /** Successful logins so far (tests check session reuse with it). */
  logins = 0;
  private server: Server | undefined;
  private readonly handlers = new Map<string, { arity: number; run: Handler; noSession?: boolean }>();
  readonly hostRef: string;
  readonly dom0Ref: string;
  private nextBridge = 0;
  private nextDomid = 1;

  constructor(readonly config: XapiEmulatorConfig) {
    const c = config;
    this.hostRef = this.db.insert("host", {});
    const mgmtNet = this.db.insert("network", {
      name_label: c.flavour === "xenserver" ? `Pool-wide network associated with ${c.pif.device}` : "",
      name_description: "",
      bridge: c.pif.bridge,
      MTU: "1500",
      PIFs: [],
      VIFs: [],
      other_config: {},
      managed: true,
    });
    const pif = this.db.insert("PIF", {
      device: c.pif.device,
      host: this.hostRef,
      network: mgmtNet,
      IP: c.address,
      netmask: c.pif.netmask,
      gateway: "",
      ip_configuration_mode: "Static",
      management: true,
      currently_attached: true,
      VLAN: "-1",
      MTU: "1500",
      MAC: c.pif.mac,
      physical: true,
      bond_slave_of: NULL_REF,
      tunnel_access_PIF_of: [],
      tunnel_transport_PIF_of: [],
      other_config: {},
    });
    this.db.addTo("network", mgmtNet, "PIFs", pif);
    this.dom0Ref = this.db.insert("VM", {
      name_label: `Control domain on host: ${c.hostname}`,
      is_control_domain: true,
      is_a_template: false,
      is_a_snapshot: false,
      power_state: "Running",
      resident_on: this.hostRef,
      domid: "0",
      VIFs: [],
      other_config: {},
    });
    this.db.insert("VM", {
      name_label: "Debian Bookworm 12",
      is_control_domain: false,
      is_a_template: true,
      is_a_snapshot: false,
      power_state: "Halted",
      resident_on: NULL_REF,
      domid: "-1",
      VIFs: [],
      other_config: {},
    });
    const metrics = this.db.insert("host_metrics", { live: true, memory_total: "17179869184" });
    Object.assign(this.db.get("host", this.hostRef), {
      name_label: c.hostname,
      name_description: "",
      hostname: c.hostname,
      address: c.address,
      enabled: true,
      API_version_major: "2",
      API_version_minor: c.flavour === "xenserver" ? "21" : "16",
      software_version: {
        ...SOFTWARE_VERSION[c.flavour],
        network_backend: c.networkBackend ?? "openvswitch",
        hostname: c.hostname,
      },
      PIFs: [pif],
      resident_VMs: [this.dom0Ref],
      metrics,
      other_config: {},
    });
    this.db.insert("pool", { name_label: "", master: this.hostRef, other_config: {} });
    this.registerHandlers();
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
    const domid = `${this.nextDomid++}`;
    const ref = this.db.insert("VM", {
      name_label: name,
      is_control_domain: false,
      is_a_template: false,
      is_a_snapshot: false,
      power_state: "Running",
      resident_on: this.hostRef,
      domid,
      VIFs: [],
      other_config: {},
    });
    for (const v of vifs) {
      const vif = this.db.insert("VIF", {
        device: v.device,
        MAC: v.mac,
        network: NULL_REF,
        VM: ref,
        currently_attached: true,
        MTU: "1500",
        other_config: {},
      });
      this.db.addTo("VM", ref, "VIFs", vif);
    }
    this.db.addTo("host", this.hostRef, "resident_VMs", ref);
    return { ref, uuid: this.db.get("VM", ref)["uuid"] as string, domid };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    if (req.url?.startsWith("/lab/")) return this.serveLab(req.url, body, res);
    if (req.method !== "POST") {
      res.writeHead(404, { "content-type": "text/html" }).end("<html><body>Not found</body></html>");
      return;
    }
    let call: { method: string; params: XapiValue[] };
    try {
      call = await parseMethodCall(body);
    } catch {
      res
        .writeHead(500, { "content-type": "text/html" })
        .end("<html><body><h1>Internal Server Error</h1></body></html>");
      return;
    }
    const out = call.method === "system.listMethods" ? [...this.handlers.keys()] : await this.invoke(call);
    res.writeHead(200, { "content-type": "text/xml" }).end(methodResponse(out));
  }

  private serveLab(url: string, body: string, res: ServerResponse): void {
    const reply = (v: unknown) =>
      void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(v ?? null));
    if (url === "/lab/expire-sessions") {
      this.expireSessions();
      return reply(null);
    }
    if (url === "/lab/vms") {
      const { name, vifs } = JSON.parse(body) as { name: string; vifs: { device: string; mac: string }[] };
      return reply(this.addVm(name, vifs));
    }
    res.writeHead(404).end();
  }

  private async invoke(call: { method: string; params: XapiValue[] }): Promise<XapiValue> {
    try {
      if (this.config.masterAddress !== undefined) throw new XapiFailure(["HOST_IS_SLAVE", this.config.masterAddress]);
      const h = this.handlers.get(call.method) ?? this.generic(call.method);
      if (h === undefined) throw new XapiFailure(["MESSAGE_METHOD_UNKNOWN", call.method]);
      if (h.arity >= 0 && call.params.length !== h.arity) {
        throw new XapiFailure(["MESSAGE_PARAMETER_COUNT_MISMATCH", call.method, `${h.arity}`, `${call.params.length}`]);
      }
      if (h.noSession !== true && !this.sessions.has(str(call.params[0]))) {
        throw new XapiFailure(["SESSION_INVALID", str(call.params[0])]);
      }
      return success(await h.run(call.params));
    } catch (err) {
      if (err instanceof XapiFailure) return failure(err.description);
      return failure(["INTERNAL_ERROR", (err as Error).message]);
    }
  }

  /** `<class>.get_all_records`, `get_record`, `get_all`, `get_by_uuid`, `get_<field>`. */
  private generic(method: string): { arity: number; run: Handler; noSession?: boolean } | undefined {
    const [cls, op] = method.split(".") as [string, string | undefined];
    if (op === undefined || !this.db.hasClass(cls)) return undefined;
    if (op === "get_all_records") return { arity: 1, run: () => this.db.all(cls) };
    if (op === "get_all") return { arity: 1, run: () => this.db.refs(cls) };
    if (op === "get_record") return { arity: 2, run: ([, ref]) => this.db.get(cls, str(ref)) };
    if (op === "get_by_uuid") {
      return {
        arity: 2,
        run: ([, uuid]) => {
          const ref = this.db.refs(cls, (r) => r["uuid"] === uuid)[0];
          if (ref === undefined) throw new XapiFailure(["UUID_INVALID", cls, str(uuid)]);
          return ref;
        },
      };
    }
    if (op.startsWith("get_")) {
      const field = op.slice(4);
      return {
        arity: 2,
        run: ([, ref]) => {
          const v = this.db.get(cls, str(ref))[field];
          if (v === undefined) throw new XapiFailure(["MESSAGE_METHOD_UNKNOWN", method]);
          return v;
        },
      };
    }
    return undefined;
  }

  private on(method: string, arity: number, run: Handler, noSession = false): void {
    this.handlers.set(method, { arity, run, noSession });
  }

  private registerHandlers(): void {
    const login: Handler = async ([user, pwd]) => {
      if (user !== this.config.username || pwd !== this.config.password) {
        await new Promise((r) => setTimeout(r, this.config.badPasswordDelayMs ?? 5_000));
        throw new XapiFailure(["SESSION_AUTHENTICATION_FAILED", str(user), "Authentication failure"]);
      }
      const ref = `OpaqueRef:${randomUUID()}`;
      this.sessions.add(ref);
      this.logins++;
      return ref;
    };
    // version and originator are optional: 2 to 4 arguments are valid (arity checked here).
    this.handlers.set("session.login_with_password", {
      arity: -1,
      noSession: true,
      run: (params) => {
        if (params.length < 2 || params.length > 4) {
          throw new XapiFailure([
            "MESSAGE_PARAMETER_COUNT_MISMATCH",
            "session.login_with_password",
            "2",
            `${params.length}`,
          ]);
        }
        return login(params);
      },
    });
    this.on("session.logout", 1, ([s]) => {
      this.sessions.delete(str(s));
      return "";
    });
    this.on("session.get_this_host", 2, () => this.hostRef);
    this.on("host.call_plugin", 5, async ([session, host, plugin, fn, args]) => {
      this.db.get("host", str(host));
      const outcome = await runPlugin(
        this.config.pluginsDir,
        str(plugin),
        str(fn),
        str(session),
        Object.fromEntries(Object.entries((args ?? {}) as Record<string, XapiValue>).map(([k, v]) => [k, str(v)])),
      );
      if (!outcome.ok) throw new XapiFailure(outcome.error);
      return outcome.value;
    });
    this.on("network.create", 2, ([, rec]) => {
      const r = (rec ?? {}) as XapiRecord;
      if (typeof r["name_label"] !== "string") {
        throw new XapiFailure(["FIELD_TYPE_ERROR", "name_label"]);
      }
      return this.db.insert("network", {
        name_label: r["name_label"],
        name_description: (r["name_description"] as string) ?? "",
        MTU: str(r["MTU"] ?? "1500"),
        other_config: (r["other_config"] as XapiRecord) ?? {},
        bridge: `xapi${this.nextBridge++}`,
        PIFs: [],
        VIFs: [],
        managed: true,
      });
    });
    this.on("network.get_by_name_label", 2, ([, label]) => this.db.refs("network", (r) => r["name_label"] === label));
    this.on("network.destroy", 2, ([, ref]) => {
      const vifs = this.db.get("network", str(ref))["VIFs"] as string[];
      if (vifs.length > 0) throw new XapiFailure(["NETWORK_CONTAINS_VIF", ...vifs]);
      this.db.remove("network", str(ref));
      return "";
    });
    this.on("VIF.create", 2, ([, rec]) => {
      const r = (rec ?? {}) as XapiRecord;
      const vm = str(r["VM"]);
      const network = str(r["network"]);
      this.db.get("VM", vm);
      this.db.get("network", network);
      const ref = this.db.insert("VIF", {
        device: str(r["device"] ?? "0"),
        MAC: str(r["MAC"] ?? ""),
        MTU: str(r["MTU"] ?? "1500"),
        network,
        VM: vm,
        currently_attached: false,
        other_config: (r["other_config"] as XapiRecord) ?? {},
      });
      this.db.addTo("VM", vm, "VIFs", ref);
      this.db.addTo("network", network, "VIFs", ref);
      return ref;
    });
    this.on("VIF.plug", 2, async ([, ref]) => {
      const vif = this.db.get("VIF", str(ref));
      if (vif["VM"] === this.dom0Ref) {
        if (this.config.flavour !== "xenserver") {
          throw new XapiFailure(["OPERATION_NOT_ALLOWED", "VIFs of the control domain cannot be plugged on this host"]);
        }
        // What xcp-networkd does when a VIF is plugged: the network's bridge comes to life.
        const bridge = str(this.db.get("network", str(vif["network"]))["bridge"]);
        await this.vsctl("--may-exist", "add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev");
      }
      vif["currently_attached"] = true;
      return "";
    });
    this.on("VIF.unplug", 2, ([, ref]) => {
      this.db.get("VIF", str(ref))["currently_attached"] = false;
      return "";
    });
    this.on("VIF.destroy", 2, ([, ref]) => {
      const vif = this.db.get("VIF", str(ref));
      if (vif["currently_attached"] === true) throw new XapiFailure(["VIF_IS_ATTACHED", str(ref)]);
      this.db.removeFrom("VM", str(vif["VM"]), "VIFs", str(ref));
      this.db.removeFrom("network", str(vif["network"]), "VIFs", str(ref));
      this.db.remove("VIF", str(ref));
      return "";
    });
    this.on("VM.get_allowed_VIF_devices", 2, ([, vm]) => {
      const used = new Set(
        ((this.db.get("VM", str(vm))["VIFs"] as string[]) ?? []).map((v) => this.db.get("VIF", v)["device"]),
      );
      return Array.from({ length: 7 }, (_, i) => `${i}`).filter((d) => !used.has(d));
    });
  }

  private vsctl(...args: string[]): Promise<void> {
    const [bin, ...pre] = this.config.vsctl ?? ["ovs-vsctl"];
    return new Promise((resolve, reject) =>
      execFile(bin as string, [...pre, ...args], (err, _out, stderr) =>
        err === null ? resolve() : reject(new XapiFailure(["INTERNAL_ERROR", stderr.trim()])),
      ),
    );
  }
}
