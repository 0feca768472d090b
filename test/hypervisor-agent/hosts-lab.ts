import type { NatsConnection } from "@nats-io/transport-node";
import { bearer, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { CommandClient, request, sealNewHost } from "@sdn/bus";
import {
  AddHost,
  agentSubject,
  CheckHealth,
  eventFilter,
  type CommandDefinition,
  type NewHost,
  type RequestOf,
} from "@sdn/contracts";
import { XAPI_PLUGIN_FILES } from "@sdn/hypervisor-agent";
import { waitFor } from "@sdn/testkit";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { HOST_PROGRAMS_DIR, KVM_PROGRAM_DIR, Lab, newHostOf, type KvmLabHost, type XapiLabHost } from "../lab/index.js";
import { AgentProcess } from "./agent-process.js";

/**
 * The lab of the hosts-*.lab.test.ts suites: the emulated data centre, the gateway's
 * harness (a real nats-server and the HTTP API, called with inject) and the agent as its
 * own process. Every answer and event is kept: the suites look for secrets in them. The
 * suites add the lab hosts they need to `lab`.
 */
export class HostsLab {
  readonly answers: string[] = [];

  private constructor(
    readonly lab: Lab,
    readonly gateway: Harness,
    readonly events: string[],
    readonly agent: AgentProcess,
  ) {}

  get nc(): NatsConnection {
    return this.gateway.nc;
  }

  static async start(): Promise<HostsLab> {
    const lab = await Lab.create();
    let gateway: Harness | undefined;
    let agent: AgentProcess | undefined;
    try {
      gateway = await startHarness({ commandWaitMs: 30_000 });
      const events: string[] = [];
      gateway.nc.subscribe(eventFilter({ service: "hypervisor-agent" }), {
        callback: (_e, m) => void events.push(m.string()),
      });
      agent = AgentProcess.start(agentEnv(gateway));
      const hl = new HostsLab(lab, gateway, events, agent);
      await waitFor(
        "the agent",
        async () => {
          const a = await new CommandClient(hl.nc).send(CheckHealth["hypervisor-agent"], {}, { timeoutMs: 1000 });
          return a.ok ? true : undefined;
        },
        30_000,
      );
      return hl;
    } catch (err) {
      await agent?.stop();
      await gateway?.close();
      await lab.dispose();
      throw err;
    }
  }

  /** The environment of an agent of this lab (a second replica takes it too). */
  agentEnv(): Record<string, string> {
    return agentEnv(this.gateway);
  }

  async send<C extends CommandDefinition>(def: C, body: RequestOf<C>, role: "admin" | "tenant" = "admin") {
    const a = await new CommandClient(this.nc).send(def, body, { role, timeoutMs: 40_000 });
    this.answers.push(JSON.stringify(a));
    return a;
  }

  /** AddHost on the bus, its credentials sealed to the agent as every sender must. */
  async addHost(req: NewHost) {
    return this.send(AddHost, await sealNewHost(this.nc, req));
  }

  /** A call to the HTTP API, as the admin unless a token is given. */
  async http(method: "GET" | "POST" | "DELETE", url: string, payload?: object, token?: string) {
    const res = await this.gateway.app.inject({
      method,
      url,
      headers: bearer(token ?? this.gateway.adminToken),
      ...(payload === undefined ? {} : { payload }),
    });
    this.answers.push(res.body);
    return res;
  }

  async agentCall<C extends CommandDefinition>(hostId: string, def: C, body: RequestOf<C>) {
    const a = await request(this.nc, def, agentSubject(hostId, def.name), body, { timeoutMs: 30_000 });
    this.answers.push(JSON.stringify(a));
    return a;
  }

  async dispose(): Promise<void> {
    await this.agent.stop();
    await this.gateway.close();
    await this.lab.dispose();
  }
}

const agentEnv = (gateway: Harness): Record<string, string> => ({
  NATS_URL: gateway.nats.url,
  LOG_LEVEL: "debug",
  SDN_HOST_CONNECT_TIMEOUT_MS: "3000",
  SDN_HOST_COMMAND_TIMEOUT_MS: "15000",
  SDN_KVM_PROGRAM_DIR: KVM_PROGRAM_DIR,
  SDN_AGENT_LEASE_MS: "3000",
  SDN_HOST_CHECK_INTERVAL_MS: "1000",
  // Both replicas must open each other's sealed credentials.
  SDN_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
});

/** Data of an ok answer; fails the test with the error otherwise. */
export const ok = <T>(a: { ok: true; data: T } | { ok: false; error: { code: string; message: string } }): T => {
  if (!a.ok) throw new Error(`expected success, got ${a.error.code}: ${a.error.message}`);
  return a.data;
};

/** What an operator gives AddHost for a lab host, with what a test changes. */
export const hostOf = (h: XapiLabHost | KvmLabHost, extra: Partial<NewHost> = {}): NewHost => ({
  ...newHostOf(h),
  ...extra,
});

/** The plugin folder of a XAPI lab host holds exactly the shipped plugin and library. */
export const expectShippedPlugin = (h: XapiLabHost): void => {
  expect(readdirSync(h.pluginDir).sort()).toEqual([...XAPI_PLUGIN_FILES].sort());
  for (const f of XAPI_PLUGIN_FILES) {
    expect(readFileSync(join(h.pluginDir, f), "utf8")).toBe(readFileSync(join(HOST_PROGRAMS_DIR, f), "utf8"));
    expect(statSync(join(h.pluginDir, f)).mode & 0o777).toBe(f === "sdn-ovs" ? 0o755 : 0o644);
  }
};

/** ovs-vsctl on the lab host, independent of our code. */
export const vsctlGet = async (h: { vsctl: (...a: string[]) => Promise<string> }, ...args: string[]) =>
  (await h.vsctl("get", ...args)).trim().replace(/^"(.*)"$/, "$1");
