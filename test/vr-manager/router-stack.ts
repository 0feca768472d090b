import { bearer, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { CommandClient, request, sealNewHost } from "@sdn/bus";
import {
  AddHost,
  agentSubject,
  CreatePublicIpRange,
  eventFilter,
  Ping,
  PlugNic,
  type CommandDefinition,
  type Network,
  type RequestOf,
  type ResponseOf,
} from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { waitFor } from "@sdn/testkit";
import { startStack, type ServiceStack } from "@sdn/testkit/stack";
import { vrManagerSpec } from "@sdn/vr-manager";
import { join } from "node:path";
import { expect } from "vitest";
import { KVM_PROGRAM_DIR, newHostOf, type Lab, type LabHost, type LabVm } from "../lab/index.js";
import { ROUTER_PROGRAM_DIR } from "./router-lab.js";

type Env = Record<string, string>;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface Tenant {
  accountId: string;
  token: string;
}

/** An event of the vr-manager as a test saw it, with when it arrived (failover timings). */
export interface VrEvent {
  type: string;
  data: Record<string, unknown>;
  receivedAt: number;
}

/** The lab internet's server address, the public range's gateway. */
export const OUTSIDE_IP = "203.0.113.1";

/**
 * The controller of a router lab suite, in this process: the gateway harness (tests
 * `inject` into it) and, on its bus, the network-guru, the hypervisor-agent, the
 * ovs-element and the vr-manager, with the lab's hosts added and their agents serving, a
 * tenant "acme", the public range 203.0.113.0/24 (the lab internet's) and every vr-manager
 * event recorded from the start.
 */
export class RouterStack {
  readonly hostIds: Record<string, string> = {};

  private constructor(
    readonly gw: Harness,
    private readonly services: ServiceStack,
    readonly events: readonly VrEvent[],
    readonly tenant: Tenant,
  ) {}

  /**
   * `agent` and `vrManager` add to (or override) those services' settings; the public range
   * ends at `lastPublicIp` (203.0.113.99 unless given).
   */
  static async start(
    lab: Lab,
    hosts: readonly LabHost[],
    opts: { agent?: Env; vrManager?: Env; lastPublicIp?: string } = {},
  ): Promise<RouterStack> {
    const gw = await startHarness({ commandWaitMs: 60_000 });
    const events: VrEvent[] = [];
    gw.nc.subscribe(eventFilter({ service: "vr-manager" }), {
      callback: (_e, m) =>
        void events.push({ ...m.json<{ type: string; data: Record<string, unknown> }>(), receivedAt: Date.now() }),
    });
    let services: ServiceStack | undefined;
    try {
      services = await startStack({ NATS_URL: gw.nats.url, SDN_DATA_DIR: join(lab.dir, "data") }, [
        [networkGuruSpec],
        [
          hypervisorAgentSpec,
          {
            SDN_KVM_PROGRAM_DIR: KVM_PROGRAM_DIR,
            SDN_HOST_CONNECT_TIMEOUT_MS: "3000",
            SDN_HOST_COMMAND_TIMEOUT_MS: "30000",
            ...opts.agent,
          },
        ],
        [ovsElementSpec, { SDN_AGENT_TIMEOUT_MS: "20000" }],
        [
          vrManagerSpec,
          {
            SDN_VR_PROGRAM_DIR: ROUTER_PROGRAM_DIR,
            SDN_VR_CONNECT_TIMEOUT_MS: "3000",
            SDN_VR_COMMAND_TIMEOUT_MS: "20000",
            ...opts.vrManager,
          },
        ],
      ]);
      const stack = new RouterStack(gw, services, events, await gw.tenant("acme"));
      for (const h of hosts) {
        const added = await stack.send(AddHost, await sealNewHost(gw.nc, newHostOf(h)));
        stack.hostIds[h.name] = added.id;
        await waitFor(`agent serving ${h.name}`, async () =>
          (await request(gw.nc, Ping, agentSubject(added.id, "Ping"), {}).catch(() => undefined))?.ok
            ? true
            : undefined,
        );
      }
      await stack.send(CreatePublicIpRange, {
        cidr: "203.0.113.0/24",
        gateway: OUTSIDE_IP,
        startIp: "203.0.113.10",
        endIp: opts.lastPublicIp ?? "203.0.113.99",
      });
      return stack;
    } catch (err) {
      await services?.stop();
      await gw.close();
      throw err;
    }
  }

  get adminToken(): string {
    return this.gw.adminToken;
  }

  /** A command on the bus as the admin or as the tenant; its data (an error answer throws). */
  async send<C extends CommandDefinition>(
    def: C,
    body: RequestOf<C>,
    as: "admin" | "tenant" = "admin",
  ): Promise<ResponseOf<C>> {
    const a = await new CommandClient(this.gw.nc).send(def, body, {
      role: as,
      ...(as === "tenant" ? { accountId: this.tenant.accountId } : {}),
      timeoutMs: 60_000,
    });
    if (!a.ok) throw new Error(`${def.name} failed: ${a.error.code} ${a.error.message}`);
    return a.data;
  }

  /** A request to the gateway, as the tenant unless another token is given. */
  http(method: Method, url: string, payload?: object, token?: string) {
    return this.gw.app.inject({
      method,
      url,
      headers: bearer(token ?? this.tenant.token),
      ...(payload === undefined ? {} : { payload }),
    });
  }

  /** A request that must answer `status` (201 for a POST, 200 otherwise, unless given); its JSON body. */
  async ok<T = Record<string, unknown>>(
    method: Method,
    url: string,
    payload?: object,
    status = method === "POST" ? 201 : 200,
    token?: string,
  ): Promise<T> {
    const res = await this.http(method, url, payload, token);
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(status);
    return (res.body === "" ? undefined : res.json()) as T;
  }

  /** The public key of the vr-manager, which a router authorises before it is registered. */
  async routerKey(): Promise<string> {
    return (await this.ok<{ publicKey: string }>("GET", "/v1/routers/ssh-key", undefined, 200, this.adminToken))
      .publicKey;
  }

  /** A VM on `host` at `ip` in `network`, its NIC plugged by the ovs-element, its default route the gateway. */
  async plugVm(host: LabHost, name: string, network: Network, ip: string): Promise<LabVm> {
    const v = await host.addVm(name, `${ip}/24`);
    await this.send(PlugNic, {
      networkId: network.id,
      vmId: v.uuid ?? name,
      hostId: this.hostIds[host.name] as string,
      hostInterface: v.hostDevice,
      mac: v.mac,
      ip,
    });
    await v.run(["ip", "route", "add", "default", "via", network.gateway]);
    return v;
  }

  eventsOf(type: string): VrEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  async close(): Promise<void> {
    await this.services.stop();
    await this.gw.close();
  }
}
