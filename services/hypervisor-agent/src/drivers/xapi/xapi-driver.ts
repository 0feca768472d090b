import type { BfdTimers, TunnelBfdReading } from "@sdn/ovsdb";
import type {
  ApplyTunnels,
  GetOvsState,
  ListVms,
  PlugVif,
  RequestOf,
  ResponseOf,
  SetupBridge,
  DestroyBridge,
  TunnelInterface,
  UnplugVif,
} from "@sdn/contracts";
import { ProgramDriver, type HostDriver } from "../driver.js";
import { HostFailure, HostProgramError } from "../errors.js";
import { XAPI_PLUGIN, type HostFacts } from "../host-programs.js";
import type { DriftListener } from "../ovsdb/drift-watch.js";
import type { SouthboundLog } from "../ovsdb/host-ovsdb.js";
import { OvsdbSouthbound, type SouthboundStatus } from "../ovsdb/southbound.js";
import { checkProgramResult } from "../program-answers.js";
import { tunnelOf } from "../tunnel-spec.js";
import type { ControllerPki } from "./controller-pki.js";
import { guestsOf, tunnelInterfaceOf, vmDevices } from "./xapi-records.js";
import { openXapiOvsdb, XapiOvsdbRefused } from "./xapi-ovsdb.js";
import { SshConnection, type SshOptions } from "../ssh/ssh-connection.js";
import { ensurePlugin } from "./plugin-deploy.js";
import { pluginError } from "./plugin-failure.js";
import { attachNetwork, detachNetwork, type XapiCall } from "./pool-networks.js";
import { XapiClient, type XapiClientOptions } from "./xapi-client.js";
import { translateXapiError } from "./xapi-errors.js";

type Rec = Record<string, unknown>;

export interface XapiDriverOptions extends XapiClientOptions {
  tunnelNetworkLabel?: string;
  /**
   * SSH to the host's control domain, to deploy the plugin when it is missing, outdated or
   * broken. Without it such a host is refused.
   */
  ssh?: SshOptions;
  /** BFD timers of every tunnel; default BFD_DEFAULTS. */
  bfd?: BfdTimers;
  /**
   * Drive the host's Open vSwitch over OVSDB on TLS port 6640 (the pool enrolled with our
   * CA); without it, or where the host refuses, the plugin does.
   */
  ovsdb?: { pki: () => Promise<ControllerPki>; takeOver: boolean };
  /** Where the driver says it falls back to the plugin. */
  log?: SouthboundLog;
  /** Told (debounced) when someone else changes or deletes what the controller owns on the host. */
  onDrift?: DriftListener;
}

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
  private hostRef: string | undefined;
  private hostUuid: string | undefined;
  /** Xen Cloud Platform (no product_* keys): no network name-labels. */
  private legacyXcp = false;
  private readonly bridgeSetups = new Map<string, Promise<ResponseOf<typeof SetupBridge>>>();
  /** The host's OVSDB over TLS once enrolled, drift reports, the fallback to the plugin. */
  private readonly sb: OvsdbSouthbound;
  /** `call` for the pool network bookkeeping (pool-networks.ts). */
  private readonly xapiCall: XapiCall = (method, ...params) => this.call(method, ...params);

  constructor(private readonly opts: XapiDriverOptions) {
    super();
    if (opts.bfd !== undefined) this.bfd = opts.bfd;
    this.client = new XapiClient(opts);
    this.ssh = opts.ssh === undefined ? undefined : new SshConnection(opts.ssh);
    this.sb = new OvsdbSouthbound(opts.address, opts.log, opts.onDrift);
  }

  southboundStatus(): SouthboundStatus {
    return this.sb.status();
  }

  /** Enrols the pool and opens its OVSDB; a refusal leaves the plugin in charge, with the reason shown. */
  private async openOvsdb(): Promise<void> {
    const o = this.opts.ovsdb;
    if (o === undefined) return;
    const where = { endpoint: `ssl:${this.opts.address}:6640` };
    try {
      const ovsdb = await openXapiOvsdb(
        { address: this.opts.address, tls: this.opts.tls, timeoutMs: this.opts.timeoutMs, ...o },
        (method, ...params) => this.call(method, ...params),
      );
      this.sb.attach(ovsdb, where);
    } catch (err) {
      const code = err instanceof XapiOvsdbRefused ? err.code : "ENROLMENT_FAILED";
      this.sb.refused(code, (err as Error).message, "OVSDB refused; the XAPI plugin drives Open vSwitch", where);
    }
  }

  protected async discover(): Promise<HostFacts> {
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
    const programsVersion = await ensurePlugin({
      address: this.opts.address,
      ssh: this.ssh,
      trustOnFirstContact: this.opts.ssh?.trustOnFirstContact === true,
      timeoutMs: this.opts.timeoutMs,
      ping: () => this.ping(),
    });
    const info = await this.hostInfo<{ ovsVersion: string }>();
    await this.openOvsdb();
    return {
      platform: { ...platform, ovsVersion: info.ovsVersion },
      programsVersion,
      tunnelInterface: await this.fetchInterface(this.opts.tunnelNetworkLabel),
      ...(this.ssh?.seenFingerprint === undefined ? {} : { hostKeyFingerprint: this.ssh.seenFingerprint }),
    };
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
    return tunnelInterfaceOf(pif, networks);
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
    const ref = await this.ref();
    // hostUuid is set by ref().
    const bridge = await attachNetwork(this.xapiCall, { ref, uuid: this.hostUuid as string }, req.networkId);
    return this.sb.change(
      "SetupBridge",
      (o) => o.vswitch.setupBridge(bridge, req.networkId),
      () => this.run<ResponseOf<typeof SetupBridge>>("setup_bridge", { bridge, networkId: req.networkId }),
    );
  }

  async destroyBridge(req: RequestOf<typeof DestroyBridge>): Promise<ResponseOf<typeof DestroyBridge>> {
    await this.ref();
    const result = await this.sb.change(
      "DestroyBridge",
      (o) => o.vswitch.destroyBridge(req.networkId),
      () => this.run<ResponseOf<typeof DestroyBridge>>("destroy_bridge", req),
    );
    const bridge = await detachNetwork(this.xapiCall, this.hostUuid as string, req.networkId);
    if (bridge === undefined) return result;
    return { bridge: result.bridge ?? bridge, destroyed: result.destroyed };
  }

  async listVms(): Promise<ResponseOf<typeof ListVms>> {
    const hostRef = await this.ref();
    const [vms, vifs, networks] = await Promise.all([
      this.call<Record<string, Rec>>("VM.get_all_records"),
      this.call<Record<string, Rec>>("VIF.get_all_records"),
      this.call<Record<string, Rec>>("network.get_all_records"),
    ]);
    return { vms: guestsOf(hostRef, vms, vifs, networks) };
  }

  /**
   * XAPI vouches for the device before the plugin plugs it: it must be the dom0 port of one
   * of the named VM's VIFs (vif<domid>.<device>, or tap<domid>.<device> for an emulated NIC)
   * and the VM must run here. The plugin still refuses devices that are no VM's port.
   * VIFs stay XAPI's and the plugin's job (VIF.create/plug); only the monitor watches them.
   */
  override async plugVif(req: RequestOf<typeof PlugVif>): Promise<ResponseOf<typeof PlugVif>> {
    const hostRef = await this.ref();
    const [vms, vifs] = await Promise.all([
      this.call<Record<string, Rec>>("VM.get_all_records"),
      this.call<Record<string, Rec>>("VIF.get_all_records"),
    ]);
    if (!vmDevices(hostRef, req.vmId, vms, vifs).has(req.device)) {
      throw new HostProgramError(
        "DEVICE_NOT_OWNED",
        `device ${req.device} is not an interface of VM ${req.vmId ?? "(none named)"} on this host`,
      );
    }
    return this.sb.own(() => this.run("plug_vif", { ...req, verifiedBy: "xapi" }));
  }

  override unplugVif(req: RequestOf<typeof UnplugVif>): Promise<ResponseOf<typeof UnplugVif>> {
    return this.sb.own(() => super.unplugVif(req));
  }

  override async applyTunnels(req: RequestOf<typeof ApplyTunnels>): Promise<ResponseOf<typeof ApplyTunnels>> {
    await this.ref();
    return this.sb.change(
      "ApplyTunnels",
      (o) => o.applyTunnels(req.networkId, tunnelOf(req), req.remotes, this.bfd),
      () => super.applyTunnels(req),
    );
  }

  override async ovsState(req: RequestOf<typeof GetOvsState>): Promise<ResponseOf<typeof GetOvsState>> {
    await this.ref();
    return this.sb.either(
      "GetOvsState",
      (o) => Promise.resolve(o.state(req.networkId)),
      () => super.ovsState(req),
    );
  }

  override async tunnelHealth(): Promise<TunnelBfdReading[]> {
    await this.ref();
    return this.sb.either(
      "tunnel health",
      (o) => o.vswitch.tunnelHealth(),
      () => super.tunnelHealth(),
    );
  }

  async close(): Promise<void> {
    this.forgetFacts();
    this.sb.close();
    this.ssh?.close();
    await this.client.logout();
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
      throw pluginError(XAPI_PLUGIN, fn, err) ?? this.translate(err);
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
    throw translateXapiError(err, `${this.opts.address}:${this.opts.port}`, this.opts.username, method);
  }
}
