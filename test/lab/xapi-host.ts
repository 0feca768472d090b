import { spawn } from "node:child_process";
import { request } from "node:https";
import { copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { XAPI_PLUGIN_FILES } from "@sdn/hypervisor-agent";
import { waitFor } from "@sdn/testkit";
import { exec } from "./exec.js";
import { LabHost, type HostPlacement } from "./host.js";
import { LabSshd } from "./sshd.js";
import { pyenvPython } from "./python.js";
import { PROFILES } from "./xapi/profiles.js";
import type { XapiEmulatorConfig, XapiFlavour, XapiRelease } from "./xapi/server.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = resolve(here, "../..");
/** The host programs shipped by the agent; the lab installs them as an operator would. */
export const HOST_PROGRAMS_DIR = join(repoRoot, "services/hypervisor-agent/host");
/** Where XAPI runs plugins from; each lab host's sshd shows the host's plugin folder there. */
export const XAPI_PLUGIN_DIR = "/etc/xapi.d/plugins";

export interface XapiHostOptions {
  flavour: XapiFlavour;
  /** The release it reports (XenServer 8 or XCP-ng 8.3 unless given). */
  release?: XapiRelease;
  password?: string;
  badPasswordDelayMs?: number;
  networkBackend?: "openvswitch" | "bridge";
  /** Leave the plugin directory empty (as on a fresh host: the agent deploys the plugin). */
  withoutPlugin?: boolean;
}

/**
 * A XenServer or XCP-ng host: OVS plus the XAPI emulator, run in the host's namespace on
 * https://<address>:443 with a self-signed certificate, executing the plugins of its own
 * plugin directory (XAPI's /etc/xapi.d/plugins), and the control domain's sshd (root with
 * the XAPI password or the lab's client key) in whose view that folder is XAPI_PLUGIN_DIR.
 */
export class XapiLabHost extends LabHost {
  readonly username = "root";
  readonly password: string;
  readonly pluginDir: string;
  caCertificate = "";
  readonly port = 443;
  readonly sshd = new LabSshd(this);

  constructor(
    name: string,
    placement: HostPlacement,
    readonly options: XapiHostOptions,
    readonly clientPrivateKey: string,
  ) {
    super(name, options.flavour, placement);
    this.password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
    this.pluginDir = join(placement.dir, "xapi.d", "plugins");
  }

  get url(): string {
    return `https://${this.address}:${this.port}/`;
  }

  /** The name-label of the management network (on XenServer and XCP-ng alike). */
  get tunnelNetworkLabel(): string {
    return "Pool-wide network associated with eth0";
  }

  /** The control domain's SSH host key. */
  get hostKeyFingerprint(): string {
    return this.sshd.hostKeyFingerprint;
  }

  /**
   * Installs the agent's XAPI plugin and its library by hand, as an operator would; with
   * `version`, as that version (an outdated install).
   */
  installPlugin(version?: string): void {
    mkdirSync(this.pluginDir, { recursive: true });
    for (const f of XAPI_PLUGIN_FILES) copyFileSync(join(HOST_PROGRAMS_DIR, f), join(this.pluginDir, f));
    const lib = readFileSync(join(HOST_PROGRAMS_DIR, "sdn_ovs.py"), "utf8");
    const versioned = version === undefined ? lib : lib.replace(/^VERSION = ".*"$/m, `VERSION = "${version}"`);
    writeFileSync(join(this.pluginDir, "sdn_ovs.py"), versioned);
  }

  async startSshd(clientPublicKeyFile: string): Promise<void> {
    mkdirSync(this.pluginDir, { recursive: true });
    await this.sshd.start({
      clientPublicKeyFile,
      binds: [[this.pluginDir, XAPI_PLUGIN_DIR]],
      rootPassword: this.password,
    });
  }

  async startXapi(): Promise<void> {
    mkdirSync(this.pluginDir, { recursive: true });
    if (this.options.withoutPlugin !== true) this.installPlugin();
    const key = join(this.dir, "xapi-key.pem");
    const cert = join(this.dir, "xapi-cert.pem");
    await exec([
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${this.name}`,
      "-addext",
      `subjectAltName=IP:${this.address}`,
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    this.caCertificate = readFileSync(cert, "utf8");
    // XAPI's own key and certificate in one file, which the OVSDB manager presents too.
    writeFileSync(this.xapiSslPem, readFileSync(key, "utf8") + this.caCertificate, { mode: 0o600 });
    const mac = (await exec(["ip", "-n", this.ns, "-j", "link", "show", "br-phy"])).match(
      /"address":"([0-9a-f:]{17})"/,
    )?.[1];
    const config: XapiEmulatorConfig = {
      flavour: this.options.flavour,
      ...(this.options.release === undefined ? {} : { release: this.options.release }),
      listen: { host: this.address, port: this.port },
      tls: { cert: this.caCertificate, key: readFileSync(key, "utf8") },
      username: this.username,
      password: this.password,
      badPasswordDelayMs: this.options.badPasswordDelayMs ?? 200,
      pluginsDir: this.pluginDir,
      hostname: this.name,
      address: this.address,
      pif: { device: "eth0", bridge: "br-phy", netmask: prefixToNetmask(this.placement.prefixLength), mac: mac ?? "" },
      ...(this.options.networkBackend === undefined ? {} : { networkBackend: this.options.networkBackend }),
      vsctl: ["ovs-vsctl", "--timeout=10"],
      certsDir: this.certsDir,
      xapiSslPem: this.xapiSslPem,
    };
    const configFile = join(this.dir, "xapi.json");
    // Plugins run on the release's dom0 Python when pyenv has it (else the lab's python3).
    const python = pyenvPython(
      PROFILES[config.release ?? (this.options.flavour === "xenserver" ? "xenserver-8" : "xcp-ng-8.3")].python,
    );
    if (python !== undefined) config.dom0Python = python;
    writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
    const log = join(this.dir, "xapi.log");
    const out = openSync(log, "a");
    const child = spawn(
      "ip",
      this.argv([process.execPath, "--import", "tsx", join(here, "xapi", "main.ts"), configFile]).slice(1),
      { cwd: repoRoot, stdio: ["ignore", out, out], detached: true },
    );
    child.unref();
    await waitFor(
      `XAPI emulator of ${this.name}`,
      () => {
        const text = readFileSync(log, "utf8");
        if (child.exitCode !== null) throw new Error(`XAPI emulator exited: ${text}`);
        return text.includes("listening on") ? true : undefined;
      },
      20_000,
    );
  }

  /** The host's /etc/xensource/xapi-ssl.pem. */
  get xapiSslPem(): string {
    return join(this.dir, "xapi-ssl.pem");
  }

  /** The host's /etc/stunnel/certs. */
  get certsDir(): string {
    return join(this.dir, "stunnel-certs");
  }

  /**
   * ovsdb-server takes its remotes and SSL settings from the database, as ovs-ctl starts
   * it on XenServer / XCP-ng, so that `set-manager pssl:6640` and `set-ssl` take effect.
   */
  protected override ovsdbServerOptions(): string[] {
    return [
      "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
      "--private-key=db:Open_vSwitch,SSL,private_key",
      "--certificate=db:Open_vSwitch,SSL,certificate",
      "--bootstrap-ca-cert=db:Open_vSwitch,SSL,ca_cert",
    ];
  }

  /** Lab-only: host.call_plugin calls so far, by `<plugin> <fn>`. */
  async pluginCalls(): Promise<Record<string, number>> {
    return (await this.lab("/lab/plugin-calls", {})) as Record<string, number>;
  }

  /**
   * Lab-only: replaces the certificate the host's OVSDB manager presents (a reinstalled
   * host, or someone in between); XAPI keeps presenting its own.
   */
  async replaceOvsdbCertificate(): Promise<void> {
    const key = join(this.dir, "other-key.pem");
    const cert = join(this.dir, "other-cert.pem");
    await exec(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-days", "2", "-subj", `/CN=${this.name}`, "-addext", `subjectAltName=IP:${this.address}`, "-keyout", key,
      "-out", cert]); // prettier-ignore
    const pem = join(this.dir, "other-ssl.pem");
    writeFileSync(pem, readFileSync(key, "utf8") + readFileSync(cert, "utf8"), { mode: 0o600 });
    await this.vsctl("set-ssl", pem, pem, join(this.certsDir, "sdn-controller-ca.pem"));
  }

  /** Lab-only: registers a running guest with its VIF, as VM.start would. */
  protected override async registerVm(name: string, mac: string): Promise<{ domid: string; uuid: string }> {
    return (await this.lab("/lab/vms", { name, vifs: [{ device: "0", mac }] })) as { domid: string; uuid: string };
  }

  /** Lab-only: invalidates every XAPI session, as a toolstack restart does. */
  async expireSessions(): Promise<void> {
    await this.lab("/lab/expire-sessions", {});
  }

  private lab(path: string, body: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // A connection of its own (agent: false): Node's global agent keeps connections alive,
      // and reusing one as the emulator's server closed it failed the quickstart with "socket
      // hang up" (req.reusedSocket true; in a CI run and in runs of its own on a busy machine).
      const options = { method: "POST", ca: this.caCertificate, agent: false };
      const req = request(new URL(path, this.url), options, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => (text += d));
        res.on("end", () => resolve(JSON.parse(text || "null") as unknown));
      });
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
  }
}

const prefixToNetmask = (prefix: number): string => {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [mask >>> 24, (mask >>> 16) & 0xff, (mask >>> 8) & 0xff, mask & 0xff].join(".");
};
