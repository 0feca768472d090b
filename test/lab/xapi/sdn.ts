import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import { join } from "node:path";
import { str } from "./codec.js";
import { XapiFailure } from "./model.js";
import type { ApiHost, Message } from "./api.js";

/** Where the openvswitch-config-update plugin finds the controller's CA (its `preinstalled_cacert`). */
export const SDN_CA_NAME = "sdn-controller-ca.pem";

export interface SdnHost extends ApiHost {
  /** The host's /etc/stunnel/certs: where pool.certificate_install puts CA certificates. */
  certsDir: string;
  /** The host's /etc/xensource/xapi-ssl.pem (key and certificate in one file). */
  xapiSslPem: string;
}

/**
 * SDN_controller and the pool's CA certificate calls, as xen-api @e2ee48d6 has them:
 * - SDN_controller.introduce (ocaml/xapi/xapi_sdn_controller.ml db_introduce): one
 *   controller per pool (OPERATION_NOT_ALLOWED otherwise); `pssl` takes no address and port
 *   0 (INVALID_VALUE), `ssl` needs an IPv4 address (INVALID_VALUE when empty,
 *   INVALID_IP_ADDRESS_SPECIFIED when not one) and port 0 becomes 6632; its three parameters
 *   have defaults (ssl, "", 0: datamodel.ml versioned_params), so 0 to 3 are accepted. Then,
 *   like forget, it runs the `openvswitch-config-update` plugin's `update` on every host
 *   (Helpers.update_vswitch_controller, whose failures are only logged).
 * - pool.certificate_install (rel_george, deprecated in 1.290.0) and
 *   pool.install_ca_certificate (1.290.0 on, the same function: xapi_pool.ml): a name must be
 *   a plain file name, the PEM must parse and be valid now (CA_CERTIFICATE_INVALID /
 *   _NOT_VALID_YET / _EXPIRED), an existing name is CERTIFICATE_ALREADY_EXISTS; the file
 *   goes to /etc/stunnel/certs/<name> (certificates.ml host_install Root_legacy).
 *   certificate_uninstall / uninstall_ca_certificate remove it (no error when absent).
 * - pool.certificate_sync copies the master's certificates to the other hosts: nothing to
 *   do with one host.
 * The release profile says which of these exist (profiles.ts); the others answer
 * MESSAGE_METHOD_UNKNOWN as the server's dispatcher does.
 */
export const sdnMessages = (h: SdnHost, on: (name: string, arity: Message["arity"], run: Message["run"]) => void) => {
  on("SDN_controller.introduce", [0, 3], async (_s, [protocol, address, port]) => {
    const proto = protocol === undefined ? "ssl" : str(protocol);
    const addr = address === undefined ? "" : str(address);
    let p = port === undefined ? 0n : BigInt(str(port));
    if (proto !== "ssl" && proto !== "pssl") throw new XapiFailure(["INVALID_VALUE", "protocol", proto]);
    if (h.db.refs("SDN_controller").length > 0) {
      throw new XapiFailure(["OPERATION_NOT_ALLOWED", "SDN controller has been configured. Please forget it first."]);
    }
    if (proto === "pssl" && addr !== "") throw new XapiFailure(["INVALID_VALUE", "address", addr]);
    if (proto === "pssl" && p !== 0n) throw new XapiFailure(["INVALID_VALUE", "port", `${p}`]);
    if (proto === "ssl" && addr === "") throw new XapiFailure(["INVALID_VALUE", "address", addr]);
    if (proto === "ssl" && !isIPv4(addr)) throw new XapiFailure(["INVALID_IP_ADDRESS_SPECIFIED", "address"]);
    if (p !== 0n && (p < 1n || p > 65535n))
      throw new XapiFailure(["VALUE_NOT_SUPPORTED", "port", `${p}`, "Port out of range"]);
    if (proto === "ssl" && p === 0n) p = 6632n;
    const ref = h.db.insert("SDN_controller", { protocol: proto, address: addr, port: p });
    await configUpdate(h).catch(() => undefined);
    return ref;
  });
  on("SDN_controller.forget", 1, async (_s, [ref]) => {
    h.db.get("SDN_controller", str(ref));
    h.db.remove("SDN_controller", str(ref));
    await configUpdate(h).catch(() => undefined);
    return "";
  });

  const install = (_s: string, [name, cert]: Parameters<Message["run"]>[1]) => {
    const n = str(name);
    if (n === "" || n.includes("/") || n.startsWith(".")) throw new XapiFailure(["CERTIFICATE_NAME_INVALID", n]);
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(str(cert));
    } catch {
      throw new XapiFailure(["CA_CERTIFICATE_INVALID", "Certificate could not be parsed"]);
    }
    if (new Date(x509.validFrom) > new Date()) throw new XapiFailure(["CA_CERTIFICATE_NOT_VALID_YET", x509.validFrom]);
    if (new Date(x509.validTo) < new Date()) throw new XapiFailure(["CA_CERTIFICATE_EXPIRED", x509.validTo]);
    const path = join(h.certsDir, n);
    if (existsSync(path)) throw new XapiFailure(["CERTIFICATE_ALREADY_EXISTS", n]);
    mkdirSync(h.certsDir, { recursive: true });
    writeFileSync(path, str(cert), { mode: 0o644 });
    return "";
  };
  on("pool.certificate_install", 2, install);
  on("pool.install_ca_certificate", 2, install);
  const uninstall = (_s: string, [name]: Parameters<Message["run"]>[1]) => {
    rmSync(join(h.certsDir, str(name)), { force: true });
    return "";
  };
  on("pool.certificate_uninstall", 1, uninstall);
  on("pool.uninstall_ca_certificate", [1, 2], uninstall);
  on("pool.certificate_sync", 0, () => "");
};

/**
 * What python3/plugins/openvswitch-config-update `update` does to the manager and SSL
 * settings (the rest of it, disable-in-band and fail modes, is not emulated): compose the
 * target (`pssl:6640` whatever the port; `ssl:<address>:<port>` with a bootstrap CA),
 * remove it when no controller is left, else, when it is not already a manager,
 * `emer-reset` and then one ovs-vsctl transaction of del-manager, del-ssl, set-ssl
 * xapi-ssl.pem (as key and as certificate) with the CA, set-manager.
 */
const configUpdate = async (h: SdnHost): Promise<void> => {
  const [ref] = h.db.refs("SDN_controller");
  const rec = ref === undefined ? undefined : h.db.get("SDN_controller", ref);
  const proto = rec === undefined ? "" : str(rec["protocol"]);
  const controller =
    proto === "pssl" ? "pssl:6640" : proto === "ssl" ? `ssl:${str(rec?.["address"])}:${str(rec?.["port"])}` : "";
  const current = (await vsctlOut(h, "get-manager")).split("\n").filter((l) => l !== "");
  if (controller === "" && current.length > 0) {
    await vsctlOut(h, "emer-reset").catch(() => undefined);
    await vsctlOut(h, "--", "del-manager", "--", "del-ssl");
  } else if (controller !== "" && !current.includes(controller)) {
    await vsctlOut(h, "emer-reset").catch(() => undefined);
    const bootstrap = proto === "ssl";
    await vsctlOut(h, "--", "del-manager", "--", "del-ssl", "--", ...(bootstrap ? ["--bootstrap"] : []), "set-ssl",
      h.xapiSslPem, h.xapiSslPem, join(h.certsDir, bootstrap ? "vswitchd.cacert" : SDN_CA_NAME),
      "--", "set-manager", controller); // prettier-ignore
  }
};

const vsctlOut = (h: ApiHost, ...args: string[]): Promise<string> => {
  const [bin, ...pre] = h.vsctl;
  return new Promise((resolve, reject) =>
    execFile(bin as string, [...pre, ...args], (err, out, stderr) =>
      err === null
        ? resolve(out.trim())
        : reject(new XapiFailure(["VSWITCH_CONFIG_MOD_FAILURE", `${err.code ?? ""}`, stderr.trim()])),
    ),
  );
};
