import type { BfdTimers } from "@sdn/ovsdb";
import type {
  ListVms,
  PlugVif,
  RequestOf,
  ResponseOf,
  SetupBridge,
  DestroyBridge,
  TunnelInterface,
} from "@sdn/contracts";
import { ProgramDriver, type HostDriver } from "../driver.js";
import { HostFailure, HostProgramError } from "../errors.js";
import {
  HOST_PROGRAMS_VERSION,
  XAPI_PLUGIN,
  XAPI_PLUGIN_DIR,
  XAPI_PLUGIN_FILES,
  type HostFacts,
} from "../host-programs.js";
import { checkProgramResult } from "../program-answers.js";
import { deployPrograms } from "../ssh/deploy-programs.js";
import { SshConnection, type SshOptions } from "../ssh/ssh-connection.js";
import { describePluginFailure } from "./plugin-failure.js";
import { XapiClient, XapiError, XapiTransportError, type XapiClientOptions } from "./xapi-client.js";

type Rec = Record<string, unknown>;
const NULL_REF = "OpaqueRef:NULL";
const NETWORK_TAG = "sdn-network-id";
/** network.other_config key marking that a host of the pool uses the network's bridge. */
const attachedKey = (hostUuid: string): string => `sdn-attached-${hostUuid}`;

export interface XapiDriverOptions extends XapiClientOptions {
  tunnelNetworkLabel?: string;
  /**
   * SSH to the host's control domain, to deploy the plugin when it is missing, outdated or
   * broken. Without it such a host is refused.
   */
  ssh?: SshOptions;
  /** BFD timers of every tunnel; default BFD_DEFAULTS. */
  bfd?: BfdTimers;
}

/** What the plugin on a host answers to `version`: its version, or why it cannot. */
type PluginCheck = { version: string } | { problem: HostProgramError };

const bridgeOf = (network: Rec | undefined): string | null =>
  typeof network?.["bridge"] === "string" && network["bridge"] !== "" ? network["bridge"] : null;

const prefixOf = (netmask: string): number =>
  netmask.split(".").reduce((n, octet) => n + (Number(octet) >>> 0).toString(2).replace(/0/g, "").length, 0);

/** SSH to a XAPI host is for deployment only: the connection closes once it is done. */
const sshOnce = async <T>(ssh: SshConnection, fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn();
  } finally {
    ssh.close();
  }
};

/**
 * Drives a XenServer or XCP-ng host through XAPI: records for identity, networks, VIFs and
 * PIFs, and host.call_plugin for everything done in Open vSwitch.
 *
 * Identity: XenServer and XCP-ng both report software_version.product_brand ("XenServer",
 * "XCP-ng") and product_version ("8.4.0", "8.2.1", "8.3.0"). Only the 2013-era Xen Cloud
 * Platform that CloudStack met left product_* out (XAPI omits empty keys, create_misc.ml):
 * there platform_name/platform_version name the host, and its networks had no name-labels,
 * so the tunnel endpoint falls back to the interface holding the host's address.
 *
 * Bridges: XAPI refuses VIF.plug on the control domain ("Control domain does not support
 * hotplug", xapi_vif_helpers.ml, CA-365946), so no dom0 VIF is used; network.attach makes
 * xcp-networkd create the network's bridge (xapi_network.ml attach_internal →
 * create_internal_bridge), and the plugin then tags it (creating it if it is still absent).
 */
export class XapiDriver extends ProgramDriver implements HostDriver {
  private readonly client: XapiClient;
  private readonly ssh: SshConnection | undefined;
  private facts: Promise<HostFacts> | undefined;
  private hostRef: string | undefined;
  private hostUuid: string | undefined;
  /** Xen Cloud Platform (no product_* keys): no network name-labels. */
  private legacyXcp = false;
  private readonly bridgeSetups = new Map<string, Promise<ResponseOf<typeof SetupBridge>>>();

  constructor(private readonly opts: XapiDriverOptions) {
    super();
    if (opts.bfd !== undefined) this.bfd = opts.bfd;
    this.client = new XapiClient(opts);
    this.ssh = opts.ssh === undefined ? undefined : new SshConnection(opts.ssh);
  }

  identify(): Promise<HostFacts> {
    this.facts ??= this.discover().catch((err: unknown) => {
      this.facts = undefined;
      throw err;
    });
    return this.facts;
  }

  private async discover(): Promise<HostFacts> {
    await this.xapi(() => this.client.login());
    const hosts = await this.call<Record<string, Rec>>("host.get_all_records");
    const entries = Object.entries(hosts);
    const mine =
      entries.find(([, h]) => h["address"] === this.opts.address) ??
      entries.find(([, h]) => h["hostname"] === this.opts.address || h["name_label"] === this.opts.address) ??
      (entries.length === 1 ? entries[0] : undefined);
    if (mine === undefined) {
      throw new HostFailure("UNREACHABLE", `the pool of ${this.opts.address} has no host with that address`);
    }
    this.hostRef = mine[0];
    this.hostUuid = String(mine[1]["uuid"]);
    const sv = (mine[1]["software_version"] ?? {}) as Record<string, string>;
    if (sv["network_backend"] !== "openvswitch") {
      throw new HostFailure(
        "NOT_AN_OVS_HOST",
        `${this.opts.address} uses the '${sv["network_backend"] ?? "unknown"}' network backend, not openvswitch`,
      );
    }
    this.legacyXcp = sv["product_version"] === undefined && sv["product_brand"] === undefined;
    const platform = {
      name: sv["product_brand"] ?? sv["platform_name"] ?? "XAPI",
      version: sv["product_version"] ?? sv["platform_version"] ?? "unknown",
    };
    const programsVersion = await this.ensurePlugin();
    const info = await this.run<{ ovsVersion: string }>("host_info", {}).catch((err: unknown) => {
      if (err instanceof HostProgramError && err.hostError === "NOT_AN_OVS_HOST") {
        throw new HostFailure("NOT_AN_OVS_HOST", err.message);
      }
      throw err;
    });
    return {
      platform: { ...platform, ovsVersion: info.ovsVersion },
      programsVersion,
      tunnelInterface: await this.fetchInterface(this.opts.tunnelNetworkLabel),
      ...(this.ssh?.seenFingerprint === undefined ? {} : { hostKeyFingerprint: this.ssh.seenFingerprint }),
    };
  }

  /**
   * Makes the host run this agent's plugin: when it is missing, of another version or
   * broken (e.g. installed without its library), deploys it over SFTP into XAPI's plugin
   * directory and checks again through XAPI, which is what will run it.
   */
  private async ensurePlugin(): Promise<string> {
    const ssh = this.ssh;
    let check = await this.checkPlugin();
    if ("version" in check && check.version === HOST_PROGRAMS_VERSION) {
      // Asked to record the SSH host key on first contact: this is the first contact.
      if (ssh !== undefined && this.opts.ssh?.trustOnFirstContact === true) await sshOnce(ssh, () => ssh.reach());
      return check.version;
    }
    // Our plugin ran and found dom0's Python too old: deploying it again would not help.
    if ("problem" in check && check.problem.hostError === "UNSUPPORTED_PYTHON") throw this.pluginRefusal(check, "");
    if (ssh === undefined) {
      throw this.pluginRefusal(
        check,
        `; give the host's SSH hostKeyFingerprint (or trustHostKeyOnFirstContact) for the agent to deploy it, or copy services/hypervisor-agent/host/{${XAPI_PLUGIN_FILES.join(",")}} to ${XAPI_PLUGIN_DIR}`,
      );
    }
    await sshOnce(ssh, () => deployPrograms(ssh, XAPI_PLUGIN_DIR, XAPI_PLUGIN_FILES, XAPI_PLUGIN, this.opts.timeoutMs));
    check = await this.checkPlugin();
    if ("version" in check && check.version === HOST_PROGRAMS_VERSION) return check.version;
    throw this.pluginRefusal(check, ` after the agent deployed it to ${XAPI_PLUGIN_DIR}`);
  }

  private async checkPlugin(): Promise<PluginCheck> {
    try {
      return { version: await this.ping() };
    } catch (err) {
      if (err instanceof HostProgramError) return { problem: err };
      throw err;
    }
  }

  private pluginRefusal(check: PluginCheck, hint: string): HostFailure {
    const plugin = `XAPI plugin ${XAPI_PLUGIN} on ${this.opts.address}`;
    if ("version" in check) {
      return new HostFailure(
        "PROGRAMS_OUTDATED",
        `${plugin} is version ${check.version}, this agent needs ${HOST_PROGRAMS_VERSION}${hint}`,
      );
    }
    if (check.problem.hostError === "UNSUPPORTED_PYTHON") {
      return new HostFailure("UNSUPPORTED_PYTHON", `${plugin} cannot run: ${check.problem.message}${hint}`);
    }
    if (check.problem.hostError === "XENAPI_MISSING_PLUGIN") {
      return new HostFailure("PROGRAMS_MISSING", `${plugin} is not installed${hint}`);
    }
    return new HostFailure("HOST_PROGRAM_FAILED", `${plugin} does not work (${check.problem.message})${hint}`);
  }

  private async ref(): Promise<string> {
    if (this.hostRef === undefined) await this.identify();
    return this.hostRef as string;
  }

  async fetchInterface(label?: string): Promise<TunnelInterface> {
    const hostRef = await this.ref();
    const [pifs, networks, host] = await Promise.all([
      this.call<Record<string, Rec>>("PIF.get_all_records"),
      this.call<Record<string, Rec>>("network.get_all_records"),
      this.call<Rec>("host.get_record", hostRef),
    ]);
    const own = Object.values(pifs).filter((p) => p["host"] === hostRef && typeof p["IP"] === "string" && p["IP"]);
    let pif =
      label === undefined ? undefined : own.find((p) => networks[p["network"] as string]?.["name_label"] === label);
    if (pif === undefined && label !== undefined && !this.legacyXcp) {
      throw new HostFailure(
        "TUNNEL_INTERFACE_NOT_FOUND",
        `no network labelled '${label}' with an address on ${this.opts.address}`,
      );
    }
    // Xen Cloud Platform has no name-labels: the interface that carries the host's address is the endpoint.
    pif ??= own.find((p) => p["IP"] === host["address"]) ?? own.find((p) => p["management"] === true);
    if (pif === undefined) {
      throw new HostFailure("TUNNEL_INTERFACE_NOT_FOUND", `no interface with an address on ${this.opts.address}`);
    }
    const network = networks[pif["network"] as string] ?? {};
    const netmask = String(pif["netmask"]);
    const foundLabel = network["name_label"];
    return {
      ...(typeof foundLabel === "string" && foundLabel !== "" ? { label: foundLabel } : {}),
      device: String(network["bridge"] ?? pif["device"]),
      ip: String(pif["IP"]),
      netmask,
      prefixLength: prefixOf(netmask),
      mac: typeof pif["MAC"] === "string" && pif["MAC"] !== "" ? pif["MAC"] : null,
    };
  }

  /**
   * One at a time per network: two concurrent calls would both find no pool network and
   * create one each (two bridges for one network).
   */
  setupBridge(req: RequestOf<typeof SetupBridge>): Promise<ResponseOf<typeof SetupBridge>> {
    const before = this.bridgeSetups.get(req.networkId) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.ensureBridge(req));
    this.bridgeSetups.set(req.networkId, mine);
    void mine
      .finally(() => {
        if (this.bridgeSetups.get(req.networkId) === mine) this.bridgeSetups.delete(req.networkId);
      })
      .catch(() => undefined);
    return mine;
  }

  private async ensureBridge(req: RequestOf<typeof SetupBridge>): Promise<ResponseOf<typeof SetupBridge>> {
    const hostRef = await this.ref();
    let network = await this.findNetwork(req.networkId);
    if (network === undefined) {
      const ref = await this.call<string>("network.create", {
        name_label: `sdn-${req.networkId}`,
        name_description: "GRE overlay network of the SDN controller",
        MTU: "1500",
        other_config: { [NETWORK_TAG]: req.networkId, assume_network_is_shared: "true" },
        tags: [],
      });
      network = [ref, await this.call<Rec>("network.get_record", ref)];
    }
    const [netRef, net] = network;
    await this.call("network.attach", netRef, hostRef);
    const key = attachedKey(this.hostUuid as string); // set by ref()
    // add_to_other_config refuses an existing key (MAP_DUPLICATE_KEY): set it once per host.
    if ((net["other_config"] as Rec | undefined)?.[key] === undefined) {
      await this.call("network.add_to_other_config", netRef, key, "true").catch((err: unknown) => {
        if (!(err instanceof HostProgramError && err.hostError === "MAP_DUPLICATE_KEY")) throw err;
      });
    }
    return this.run<ResponseOf<typeof SetupBridge>>("setup_bridge", {
      bridge: String(net["bridge"]),
      networkId: req.networkId,
    });
  }

  async destroyBridge(req: RequestOf<typeof DestroyBridge>): Promise<ResponseOf<typeof DestroyBridge>> {
    await this.ref();
    const result = await this.run<ResponseOf<typeof DestroyBridge>>("destroy_bridge", req);
    const network = await this.findNetwork(req.networkId);
    if (network === undefined) return result;
    const [netRef, net] = network;
    await this.call("network.remove_from_other_config", netRef, attachedKey(this.hostUuid as string));
    // The network is pool-wide: it goes once no host uses its bridge and no VIF is on it.
    const left = await this.call<Rec>("network.get_record", netRef);
    const inUse = Object.keys(left["other_config"] ?? {}).some((k) => k.startsWith(attachedKey("")));
    if (!inUse && (left["VIFs"] as string[]).length === 0) await this.call("network.destroy", netRef);
    return { bridge: result.bridge ?? String(net["bridge"]), destroyed: result.destroyed };
  }

  async listVms(): Promise<ResponseOf<typeof ListVms>> {
    const hostRef = await this.ref();
    const [vms, vifs, networks] = await Promise.all([
      this.call<Record<string, Rec>>("VM.get_all_records"),
      this.call<Record<string, Rec>>("VIF.get_all_records"),
      this.call<Record<string, Rec>>("network.get_all_records"),
    ]);
    const guests = Object.entries(vms).filter(
      ([, v]) =>
        v["is_a_template"] !== true &&
        v["is_control_domain"] !== true &&
        v["is_a_snapshot"] !== true &&
        v["resident_on"] === hostRef,
    );
    return {
      vms: guests.map(([ref, v]) => ({
        id: String(v["uuid"]),
        name: String(v["name_label"]),
        powerState: String(v["power_state"]),
        nics: Object.values(vifs)
          .filter((n) => n["VM"] === ref)
          .map((n) => ({
            // The port Xen creates in dom0 for the VIF: vif<domid>.<device>.
            device: `vif${String(v["domid"])}.${String(n["device"])}`,
            mac: typeof n["MAC"] === "string" ? n["MAC"] : null,
            bridge: n["network"] === NULL_REF ? null : bridgeOf(networks[n["network"] as string]),
          })),
      })),
    };
  }

  /**
   * XAPI vouches for the device before the plugin plugs it: it must be the dom0 port of one
   * of the named VM's VIFs (vif<domid>.<device>, or tap<domid>.<device> for an emulated NIC)
   * and the VM must run here. The plugin still refuses devices that are no VM's port.
   */
  override async plugVif(req: RequestOf<typeof PlugVif>): Promise<ResponseOf<typeof PlugVif>> {
    const hostRef = await this.ref();
    const [vms, vifs] = await Promise.all([
      this.call<Record<string, Rec>>("VM.get_all_records"),
      this.call<Record<string, Rec>>("VIF.get_all_records"),
    ]);
    const vm = Object.entries(vms).find(
      ([, v]) => v["uuid"] === req.vmId && v["resident_on"] === hostRef && v["is_control_domain"] !== true,
    );
    const devices = new Set(
      vm === undefined
        ? []
        : Object.values(vifs)
            .filter((n) => n["VM"] === vm[0])
            .flatMap((n) => ["vif", "tap"].map((kind) => `${kind}${String(vm[1]["domid"])}.${String(n["device"])}`)),
    );
    if (!devices.has(req.device)) {
      throw new HostProgramError(
        "DEVICE_NOT_OWNED",
        `device ${req.device} is not an interface of VM ${req.vmId ?? "(none named)"} on this host`,
      );
    }
    return this.run("plug_vif", { ...req, verifiedBy: "xapi" });
  }

  async close(): Promise<void> {
    this.facts = undefined;
    this.ssh?.close();
    await this.client.logout();
  }

  private async findNetwork(networkId: string): Promise<[string, Rec] | undefined> {
    const networks = await this.call<Record<string, Rec>>("network.get_all_records");
    return Object.entries(networks).find(([, n]) => (n["other_config"] as Rec)?.[NETWORK_TAG] === networkId);
  }

  protected async run<T>(fn: string, args: object): Promise<T> {
    const hostRef = await this.ref();
    let result: unknown;
    try {
      const value = await this.client.call<string>("host.call_plugin", hostRef, XAPI_PLUGIN, fn, {
        args: JSON.stringify(args),
      });
      result = JSON.parse(value);
    } catch (err) {
      if (err instanceof XapiError && err.code === "SDN_HOST_ERROR") {
        throw new HostProgramError(err.params[0] ?? "HOST_ERROR", err.params[1] ?? "the host program failed");
      }
      if (err instanceof XapiError && err.code === "XENAPI_PLUGIN_FAILURE") {
        throw new HostProgramError("XENAPI_PLUGIN_FAILURE", describePluginFailure(XAPI_PLUGIN, fn, err.params));
      }
      if (err instanceof XapiError && err.code === "XENAPI_MISSING_PLUGIN") {
        throw new HostProgramError("XENAPI_MISSING_PLUGIN", `XAPI plugin ${XAPI_PLUGIN} is missing on the host`);
      }
      return this.translate(err);
    }
    return checkProgramResult<T>(XAPI_PLUGIN, fn, result);
  }

  private async call<T>(method: string, ...params: unknown[]): Promise<T> {
    return this.xapi(() => this.client.call<T>(method, ...params), method);
  }

  private async xapi<T>(fn: () => Promise<T>, method = "session.login_with_password"): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      return this.translate(err, method);
    }
  }

  private translate(err: unknown, method?: string): never {
    const where = `${this.opts.address}:${this.opts.port}`;
    if (err instanceof XapiTransportError) {
      if (err.tls)
        throw new HostFailure("TLS_VERIFICATION_FAILED", `TLS verification of ${where} failed: ${err.message}`);
      throw new HostFailure("UNREACHABLE", `cannot reach XAPI at ${err.message}`);
    }
    if (err instanceof XapiError) {
      if (err.code === "SESSION_AUTHENTICATION_FAILED") {
        throw new HostFailure(
          "AUTHENTICATION_FAILED",
          `XAPI at ${where} refused the credentials of '${this.opts.username}'`,
        );
      }
      if (err.code === "HOST_OFFLINE" || err.code === "HOST_STILL_BOOTING") {
        throw new HostFailure("UNREACHABLE", `XAPI says the host is not available: ${err.message}`);
      }
      throw new HostProgramError(err.code, `XAPI refused ${method ?? "the call"}: ${err.message}`);
    }
    throw err;
  }
}
