import type { NatsConnection } from "@nats-io/transport-node";
import { CommandClient } from "@sdn/bus";
import {
  type Answer,
  type CommandDefinition,
  CreateNetwork,
  type ErrorBody,
  ImplementNetwork,
  type Network,
  type RequestOf,
  type ResponseOf,
  type Role,
} from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { startService, type RunningService } from "@sdn/runtime";
import { TestNatsServer } from "@sdn/testkit";

export interface Caller {
  role: Role;
  accountId?: string;
}

export const ADMIN: Caller = { role: "admin", accountId: "ops" };
export const tenant = (accountId: string): Caller => ({ role: "tenant", accountId });

/** A real nats-server, N network-guru replicas started in-process, and a command client. */
export class GuruHarness {
  private constructor(
    readonly nats: TestNatsServer,
    readonly nc: NatsConnection,
    readonly replicas: RunningService<never>[],
    readonly client: CommandClient,
  ) {}

  static async start(replicas = 1, env: Record<string, string> = {}): Promise<GuruHarness> {
    const nats = await TestNatsServer.startSecured();
    const started: RunningService<never>[] = [];
    try {
      for (let i = 0; i < replicas; i++) {
        const svc = await startService(networkGuruSpec, {
          ...nats.serviceEnv("network-guru"),
          LOG_LEVEL: "silent",
          ...env,
        });
        started.push(svc as unknown as RunningService<never>);
      }
      // The tests send commands as the gateway does.
      const nc = await nats.connectAs("api-gateway");
      return new GuruHarness(nats, nc, started, new CommandClient(nc));
    } catch (err) {
      for (const s of started) await s.stop();
      await nats.dispose();
      throw err;
    }
  }

  async send<C extends CommandDefinition>(def: C, body: RequestOf<C>, as: Caller): Promise<Answer<ResponseOf<C>>> {
    return this.client.send(def, body, {
      role: as.role,
      ...(as.accountId === undefined ? {} : { accountId: as.accountId }),
      timeoutMs: 60_000,
    });
  }

  /** Sends and returns the data of a successful answer; throws with the error otherwise. */
  async ok<C extends CommandDefinition>(def: C, body: RequestOf<C>, as: Caller): Promise<ResponseOf<C>> {
    const a = await this.send(def, body, as);
    if (!a.ok) throw new Error(`${def.name} failed: ${a.error.code} ${a.error.message}`);
    return a.data;
  }

  /** Every page of a paged list command, following nextCursor until a page has none. */
  async pages<C extends CommandDefinition>(def: C, body: RequestOf<C>, as: Caller): Promise<ResponseOf<C>[]> {
    const pages: ResponseOf<C>[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.ok(def, { ...body, ...(cursor === undefined ? {} : { cursor }) }, as);
      pages.push(page);
      cursor = (page as { nextCursor?: string }).nextCursor;
    } while (cursor !== undefined);
    return pages;
  }

  /** A network created and implemented for the caller. */
  async network(name: string, cidr: string, as: Caller): Promise<Network> {
    const net = await this.ok(CreateNetwork, { name, cidr }, as);
    return this.ok(ImplementNetwork, { networkId: net.id }, as);
  }

  /** Sends a command that must fail and returns its error. */
  async fail<C extends CommandDefinition>(def: C, body: RequestOf<C>, as: Caller): Promise<ErrorBody> {
    const a = await this.send(def, body, as);
    if (a.ok) throw new Error(`${def.name} succeeded but was expected to fail: ${JSON.stringify(a.data)}`);
    return a.error;
  }

  async stop(): Promise<void> {
    for (const s of this.replicas) await s.stop().catch(() => undefined);
    await this.nc.close().catch(() => undefined);
    await this.nats.dispose();
  }
}
