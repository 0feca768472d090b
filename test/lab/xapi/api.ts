import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { str, type XapiValue } from "./codec.js";
import { CLASSES } from "./records.js";
import { tokenOf, XapiDatabase, XapiFailure, type XapiRecord } from "./model.js";
import { runPlugin } from "./plugins.js";
import { sdnMessages } from "./sdn.js";

/** A message: `arity` counts its parameters without the session, as xapi does. */
export interface Message {
  arity: number | [number, number];
  noSession?: boolean;
  run: (session: string, args: XapiValue[]) => XapiValue | Promise<XapiValue>;
}

export interface ApiHost {
  db: XapiDatabase;
  hostRef: string;
  dom0Ref: string;
  sessions: Set<string>;
  pluginsDir: string;
  /** Environment of plugin runs (the lab's stand-in for dom0's Python). */
  pluginEnv: Record<string, string>;
  vsctl: string[];
  login(user: string, password: string): Promise<string>;
  /** host.call_plugin calls by `<plugin> <fn>` (lab tests check which path did a change). */
  pluginCalls: Map<string, number>;
  /** The host's /etc/stunnel/certs (pool CA certificates). */
  certsDir: string;
  /** The host's /etc/xensource/xapi-ssl.pem. */
  xapiSslPem: string;
}

const rec = (v: XapiValue | undefined): XapiRecord =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date) ? (v as XapiRecord) : {};

/** An int64 parameter: XAPI accepts `<i4>`, `<i8>` and bare strings for it. */
const int64 = (v: XapiValue | undefined, field: string): bigint => {
  try {
    return BigInt(str(v));
  } catch {
    throw new XapiFailure(["FIELD_TYPE_ERROR", field]);
  }
};

/** A constructor's required field (no default in the datamodel): the generated unmarshaller fails. */
const required = (r: XapiRecord, field: string): XapiValue => {
  const v = r[field];
  if (v === undefined) throw new XapiFailure(["INTERNAL_ERROR", `Failure("Field ${field} not present in rpc")`]);
  return v;
};

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/**
 * The messages the emulator implements beyond the generic field accessors, each checked
 * against xapi's implementation (file named at each).
 */
export const messages = (h: ApiHost): Map<string, Message> => {
  const m = new Map<string, Message>();
  const on = (name: string, arity: Message["arity"], run: Message["run"], noSession = false) =>
    m.set(name, { arity, run, noSession });

  // version and originator have defaults (xapi_session.ml): 2 to 4 parameters.
  on("session.login_with_password", [2, 4], (_s, [user, pwd]) => h.login(str(user), str(pwd)), true);
  on("session.logout", 0, (session) => {
    h.sessions.delete(session);
    return "";
  });
  on("session.get_this_host", 1, () => h.hostRef);

  on("host.call_plugin", 4, async (session, [host, plugin, fn, args]) => {
    h.db.get("host", str(host));
    const call = `${str(plugin)} ${str(fn)}`;
    h.pluginCalls.set(call, (h.pluginCalls.get(call) ?? 0) + 1);
    const outcome = await runPlugin(
      h.pluginsDir,
      str(plugin),
      str(fn),
      session,
      Object.fromEntries(Object.entries(rec(args)).map(([k, v]) => [k, str(v)])),
      h.pluginEnv,
    );
    if (!outcome.ok) throw new XapiFailure(outcome.error);
    return outcome.value;
  });

  // xapi_network.ml create; of the constructor's fields (datamodel.ml network) only
  // other_config has no default: name_label and name_description default to "", MTU to
  // 1500 (and <= 0 becomes 1500), bridge to the next free xapiN.
  on("network.create", 1, (_s, [record]) => {
    const r = rec(record);
    required(r, "other_config");
    const mtu = r["MTU"] === undefined ? 1500n : int64(r["MTU"], "MTU");
    const bridges = new Set(h.db.refs("network").map((n) => h.db.get("network", n)["bridge"]));
    let bridge = str(r["bridge"] ?? "");
    if (bridge === "") {
      for (let i = 0; ; i++) if (!bridges.has((bridge = `xapi${i}`))) break;
    } else if (bridges.has(bridge)) throw new XapiFailure(["BRIDGE_NAME_EXISTS", bridge]);
    return h.db.insert("network", {
      name_label: str(r["name_label"] ?? ""),
      name_description: str(r["name_description"] ?? ""),
      MTU: mtu <= 0n ? 1500n : mtu,
      other_config: rec(r["other_config"]),
      tags: Array.isArray(r["tags"]) ? r["tags"].map((t) => str(t)) : [],
      bridge,
      managed: r["managed"] ?? true,
    });
  });
  // xapi_network.ml destroy: attached (or reserved) VIFs, then PIFs, refuse it.
  on("network.destroy", 1, (_s, [ref]) => {
    const net = h.db.get("network", str(ref));
    const attached = (net["VIFs"] as string[]).filter((v) => h.db.get("VIF", v)["currently_attached"] === true);
    if (attached.length > 0) throw new XapiFailure(["NETWORK_CONTAINS_VIF", ...attached]);
    if ((net["PIFs"] as string[]).length > 0)
      throw new XapiFailure(["NETWORK_CONTAINS_PIF", ...(net["PIFs"] as string[])]);
    for (const v of net["VIFs"] as string[]) destroyVif(v);
    h.db.remove("network", str(ref));
    return "";
  });
  // xapi_network.ml attach → attach_internal: a network without PIFs on this host gets its
  // bridge from xcp-networkd (create_internal_bridge, tagged with the network's uuid).
  on("network.attach", 2, async (_s, [ref, host]) => {
    const net = h.db.get("network", str(ref));
    h.db.get("host", str(host));
    if ((net["PIFs"] as string[]).length === 0) {
      const bridge = str(net["bridge"]);
      await vsctl(h, "--may-exist", "add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev",
        `external_ids:xs-network-uuids=${str(net["uuid"])}`); // prettier-ignore
    }
    return "";
  });

  // xapi_vif_helpers.ml create: device, network, VM, MAC, MTU, other_config and the qos
  // fields have no default in the constructor (datamodel.ml VIF).
  on("VIF.create", 1, (_s, [record]) => {
    const r = rec(record);
    for (const f of [
      "device",
      "network",
      "VM",
      "MAC",
      "MTU",
      "other_config",
      "qos_algorithm_type",
      "qos_algorithm_params",
    ])
      required(r, f);
    const vm = str(r["VM"]);
    const network = str(r["network"]);
    h.db.get("VM", vm);
    h.db.get("network", network);
    const device = str(r["device"]);
    if (!/^\d+$/.test(device)) throw new XapiFailure(["INVALID_DEVICE", device]);
    // A MAC of "" is generated only for a VM with other_config:mac_seed; otherwise refused.
    let mac = str(r["MAC"]);
    const seeded = rec(h.db.get("VM", vm)["other_config"])["mac_seed"] !== undefined;
    const generated = mac === "" && seeded;
    if (generated) mac = `02:${(randomUUID().replace(/-/g, "").slice(0, 10).match(/../g) ?? []).join(":")}`;
    if (!MAC.test(mac)) throw new XapiFailure(["MAC_INVALID", mac]);
    const taken = (h.db.get("VM", vm)["VIFs"] as string[]).some(
      (v) => Number(h.db.get("VIF", v)["device"]) === Number(device),
    );
    if (taken) throw new XapiFailure(["DEVICE_ALREADY_EXISTS", device]);
    const ref = h.db.insert("VIF", {
      device,
      MAC: mac,
      MAC_autogenerated: generated,
      MTU: int64(r["MTU"], "MTU"),
      network,
      VM: vm,
      other_config: rec(r["other_config"]),
      qos_algorithm_type: str(r["qos_algorithm_type"]),
      qos_algorithm_params: rec(r["qos_algorithm_params"]),
      locking_mode: str(r["locking_mode"] ?? "network_default"),
    });
    h.db.addTo("VM", vm, "VIFs", ref);
    h.db.addTo("network", network, "VIFs", ref);
    return ref;
  });
  // xapi_vif_helpers.ml valid_operations (the first error set for an operation wins): no
  // hotplug on dom0 (CA-365946), then the VM must be Running and the VIF (un)plugged.
  const plugCheck = (ref: string, op: "plug" | "unplug"): XapiRecord => {
    const vif = h.db.get("VIF", ref);
    if (op === "plug" && vif["VM"] === h.dom0Ref) {
      throw new XapiFailure(["OPERATION_NOT_ALLOWED", "Control domain does not support hotplug"]);
    }
    const power = str(h.db.get("VM", str(vif["VM"]))["power_state"]);
    if (power !== "Running")
      throw new XapiFailure(["VM_BAD_POWER_STATE", str(vif["VM"]), "running", power.toLowerCase()]);
    const attached = vif["currently_attached"] === true;
    if (op === "plug" && attached) throw new XapiFailure(["DEVICE_ALREADY_ATTACHED", ref]);
    if (op === "unplug" && !attached) throw new XapiFailure(["DEVICE_ALREADY_DETACHED", ref]);
    return vif;
  };
  on("VIF.plug", 1, (_s, [ref]) => {
    plugCheck(str(ref), "plug");
    h.db.update("VIF", str(ref), { currently_attached: true });
    return "";
  });
  on("VIF.unplug", 1, (_s, [ref]) => {
    plugCheck(str(ref), "unplug");
    h.db.update("VIF", str(ref), { currently_attached: false });
    return "";
  });
  const destroyVif = (ref: string) => {
    const vif = h.db.get("VIF", ref);
    h.db.removeFrom("VM", str(vif["VM"]), "VIFs", ref);
    h.db.removeFrom("network", str(vif["network"]), "VIFs", ref);
    h.db.remove("VIF", ref);
  };
  // xapi_vif_helpers.ml destroy: refused only while attached to a running VM.
  on("VIF.destroy", 1, (_s, [ref]) => {
    const vif = h.db.get("VIF", str(ref));
    const running = h.db.get("VM", str(vif["VM"]))["power_state"] === "Running";
    if (running && vif["currently_attached"] === true) {
      throw new XapiFailure(["OPERATION_NOT_ALLOWED", "VIF currently attached to a running VM"]);
    }
    destroyVif(str(ref));
    return "";
  });
  on("VM.get_allowed_VIF_devices", 1, (_s, [vm]) => {
    const used = new Set((h.db.get("VM", str(vm))["VIFs"] as string[]).map((v) => h.db.get("VIF", v)["device"]));
    return Array.from({ length: 7 }, (_, i) => `${i}`).filter((d) => !used.has(d));
  });

  sdnMessages(h, on);

  // xapi_event.ml from: classes (any case, "*" for all), a token ("" for the start).
  on("event.from", 3, async (_s, [classes, token, timeout]) => {
    const wanted = Array.isArray(classes) ? classes.map((c) => str(c)) : [];
    const names = wanted.includes("*")
      ? CLASSES
      : wanted.map((c) => h.db.classNamed(c)).filter((c): c is string => c !== undefined);
    const t = str(token);
    const since = t === "" ? 0 : Number(t.split(",")[0]);
    if (!Number.isInteger(since) || since < 0) throw new XapiFailure(["EVENT_FROM_TOKEN_PARSE_FAILURE", t]);
    const deadline = Date.now() + Math.min(Number(str(timeout)) || 0, 600) * 1000;
    let events = h.db.changesSince(names, since);
    while (events.length === 0 && Date.now() < deadline) {
      await h.db.changed(deadline - Date.now());
      events = h.db.changesSince(names, since);
    }
    return {
      events: events.map((e) => ({ ...e, ...(e.snapshot === undefined ? {} : { snapshot: e.snapshot }) })),
      valid_ref_counts: Object.fromEntries(names.map((c) => [c.toLowerCase(), h.db.count(c)])),
      token: tokenOf(h.db.currentGeneration),
    };
  });
  on("event.inject", 2, (_s, [cls, ref]) => {
    const name = h.db.classNamed(str(cls));
    if (name === undefined) throw new XapiFailure(["HANDLE_INVALID", str(cls), str(ref)]);
    h.db.touch(name, str(ref));
    return h.db.token;
  });
  return m;
};

/** Runs ovs-vsctl in the host's OVS (what xcp-networkd does on a real host). */
const vsctl = (h: ApiHost, ...args: string[]): Promise<void> => {
  const [bin, ...pre] = h.vsctl;
  return new Promise((resolve, reject) =>
    execFile(bin as string, [...pre, ...args], (err, _out, stderr) =>
      err === null ? resolve() : reject(new XapiFailure(["INTERNAL_ERROR", stderr.trim()])),
    ),
  );
};
