import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { BusCredentialFiles } from "@sdn/bus-auth";
import { COMMAND_SERVICES, inboxPrefix, type CommandServiceName, type ServiceName } from "@sdn/contracts";
import { ensureComposeBusSecrets, SERVER_AUTH_SECRET } from "@sdn/launcher";
import { freePort, waitFor, type TestPrincipal } from "@sdn/testkit";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GenericContainer,
  Network,
  Wait,
  type ContainerRuntimeClient,
  type StartedNetwork,
  type StartedTestContainer,
} from "testcontainers";
import { callApi, type ApiResponse } from "./api.js";
import { buildServiceImages, images, removeVolume, requireEngine, requireImage } from "./engine.js";

/**
 * The flags of docker-compose.yml's nats service: the generated authentication block as its
 * configuration, JetStream, data (and the account JWTs) on the volume at /data.
 */
const NATS_COMMAND = [
  "-c",
  `/run/secrets/${SERVER_AUTH_SECRET}`,
  "--jetstream",
  "--store_dir",
  "/data",
  "--http_port",
  "8222",
  "--server_name",
  "sdn-nats",
];
/** Where docker-compose.yml mounts the gateway's issuing keys. */
const ISSUER_SECRET = "/run/secrets/bus-issuer";
const GATEWAY_PORT = 8080;
type InspectInfo = Awaited<ReturnType<ContainerRuntimeClient["container"]["inspect"]>>;
/** Settings of one service only: the agent simulates every host (steps/nics.ts). */
const SERVICE_ENV: Partial<Record<ServiceName, Record<string, string>>> = {
  "hypervisor-agent": { SDN_AGENT_SIMULATOR: "true" },
};
/** Graceful stops: the runtime drains in-flight commands on SIGTERM. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * The whole controller as containers, wired as docker-compose.yml wires it: NATS with
 * JetStream on a named volume and authentication on, the five services on one network, each
 * given only its own credentials (generated as scripts/compose-secrets.sh generates them),
 * the gateway's port published. The test drives it over HTTP and talks to NATS through its
 * published port, as one of the principals.
 */
export class ContainerSystem {
  /** What steps added to the system (containers, networks): removed first on dispose. */
  private readonly additions: (() => Promise<void>)[] = [];

  private constructor(
    private readonly client: ContainerRuntimeClient,
    private readonly network: StartedNetwork,
    private readonly volume: string,
    private readonly nats: StartedTestContainer,
    private readonly services: Map<ServiceName, StartedTestContainer>,
    /** `nats://127.0.0.1:<port>`; the port stays the same across NATS restarts. */
    readonly natsUrl: string,
    readonly gatewayUrl: string,
    /** The gateway's admin bearer token (SDN_ADMIN_TOKEN). */
    readonly adminToken: string,
    /** The generated bus credentials (a temporary directory, removed on dispose). */
    private readonly credentials: BusCredentialFiles,
  ) {}

  static async start(): Promise<ContainerSystem> {
    const client = await requireEngine();
    const { nats: natsImage, tag } = images();
    await requireImage(client, natsImage);
    await requireImage(client, images().node);
    await buildServiceImages();

    const network = await new Network().start();
    const volume = `sdn-it-nats-${randomUUID().slice(0, 8)}`;
    const natsPort = await freePort();
    const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
    const credentials = await ensureComposeBusSecrets(mkdtempSync(join(tmpdir(), "sdn-it-bus-")));
    /** A generated file, mounted read-only for the container's user as compose mounts a secret. */
    const secret = (file: string, target: string) => ({ content: readFileSync(file), target, mode: 0o444 });
    const started: StartedTestContainer[] = [];
    try {
      const nats = await new GenericContainer(natsImage)
        .withName(`${volume}-nats`)
        .withCommand(NATS_COMMAND)
        .withNetwork(network)
        .withNetworkAliases("nats")
        .withCopyContentToContainer([secret(credentials.serverConfigPath, NATS_COMMAND[1] as string)])
        // A name, not a path: Docker creates the named volume, as compose does for nats-data.
        .withBindMounts([{ source: volume, target: "/data" }])
        .withExposedPorts({ container: 4222, host: natsPort })
        .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
        .start();
      started.push(nats);
      const service = (name: ServiceName) =>
        new GenericContainer(`sdn/${name}:${tag}`)
          .withNetwork(network)
          .withNetworkAliases(name)
          .withEnvironment({
            NATS_URL: "nats://nats:4222",
            NATS_CREDS: `/run/secrets/${name}-creds`,
            LOG_LEVEL: "info",
            SDN_READY_TIMEOUT_MS: "1000",
          })
          .withCopyContentToContainer([secret(credentials.credsPath(name), `/run/secrets/${name}-creds`)])
          .withWaitStrategy(Wait.forLogMessage(`"msg":"${name} started"`))
          .withStartupTimeout(60_000);
      const services = new Map<ServiceName, StartedTestContainer>();
      await Promise.all(
        COMMAND_SERVICES.map(async (name) => {
          const c = await service(name)
            .withEnvironment(SERVICE_ENV[name] ?? {})
            .start();
          started.push(c);
          services.set(name, c);
        }),
      );
      const gateway = await service("api-gateway")
        .withEnvironment({ SDN_ADMIN_TOKEN: adminToken, SDN_BUS_ISSUER_FILE: ISSUER_SECRET })
        .withCopyContentToContainer([secret(credentials.issuerPath, ISSUER_SECRET)])
        .withExposedPorts(GATEWAY_PORT)
        .start();
      started.push(gateway);
      services.set("api-gateway", gateway);
      return new ContainerSystem(
        client,
        network,
        volume,
        nats,
        services,
        `nats://127.0.0.1:${natsPort}`,
        `http://${gateway.getHost()}:${gateway.getMappedPort(GATEWAY_PORT)}`,
        adminToken,
        credentials,
      );
    } catch (err) {
      await Promise.allSettled(started.map((c) => c.stop()));
      await network.stop().catch(() => undefined);
      await removeVolume(volume).catch(() => undefined);
      rmSync(credentials.dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * A NATS connection from the test as `principal` (its generated credentials, its inbox),
   * reconnecting for as long as it is open.
   */
  connectNats(principal: TestPrincipal): Promise<NatsConnection> {
    return connect({
      servers: this.natsUrl,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      inboxPrefix: inboxPrefix(principal),
      authenticator: credsAuthenticator(readFileSync(this.credentials.credsPath(principal))),
    });
  }

  /** Calls the HTTP API with `token` (the admin's unless given). */
  api(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<ApiResponse> {
    return callApi(this.gatewayUrl, method, path, opts.token ?? this.adminToken, opts.body);
  }

  /** Stops a service's container: SIGTERM and a graceful drain, or SIGKILL when `kill`. */
  async stopService(name: CommandServiceName, opts: { kill?: boolean } = {}): Promise<void> {
    await this.client.container.stop(this.containerOf(name), { timeout: opts.kill ? 0 : STOP_TIMEOUT_MS });
  }

  /** Starts a stopped service container again and waits until it serves commands. */
  async startService(name: CommandServiceName): Promise<void> {
    const since = Math.floor(Date.now() / 1000);
    await this.client.container.start(this.containerOf(name));
    await waitFor(
      `${name} to start again`,
      async () => ((await this.logs(name, { since })).includes(`"msg":"${name} started"`) ? true : undefined),
      60_000,
      250,
    );
  }

  /** Restarts the NATS container (same container, same volume) and waits until it is ready. */
  async restartNats(): Promise<void> {
    await this.nats.restart({ timeout: STOP_TIMEOUT_MS });
  }

  /** Waits until `/readyz` says ready: NATS reachable and every service answering. */
  async waitUntilReady(timeoutMs = 60_000): Promise<unknown> {
    return waitFor(
      "GET /readyz to answer 200",
      async () => {
        const res = await fetch(`${this.gatewayUrl}/readyz`);
        return res.status === 200 ? await res.json() : undefined;
      },
      timeoutMs,
      250,
    );
  }

  async inspect(name: ServiceName): Promise<InspectInfo> {
    return this.client.container.inspect(this.containerOf(name));
  }

  /** Waits until Docker reports every named container healthy by its image's HEALTHCHECK. */
  async waitUntilHealthy(names: readonly ServiceName[], timeoutMs: number): Promise<void> {
    await waitFor(
      `${names.join(", ")} to be healthy`,
      async () => {
        const states = await Promise.all(names.map(async (n) => (await this.inspect(n)).State.Health?.Status));
        if (states.includes("unhealthy"))
          throw new Error(`unhealthy: ${names.filter((_, i) => states[i] === "unhealthy").join(", ")}`);
        return states.every((s) => s === "healthy") ? true : undefined;
      },
      timeoutMs,
      1000,
    );
  }

  /** The container's output (stdout and stderr), for assertions and failure reports. */
  async logs(name: ServiceName | "nats", opts: { since?: number; tail?: number } = {}): Promise<string> {
    const container = name === "nats" ? this.nats : this.services.get(name);
    if (container === undefined) throw new Error(`no container for ${name}`);
    const raw = await this.client.container.getById(container.getId()).logs({
      follow: false,
      stdout: true,
      stderr: true,
      since: opts.since ?? 0,
      ...(opts.tail === undefined ? {} : { tail: opts.tail }),
    });
    return demuxLogs(raw);
  }

  /** The engine and the services' network, for steps that add containers of their own. */
  get engine(): { client: ContainerRuntimeClient; servicesNetwork: StartedNetwork } {
    return { client: this.client, servicesNetwork: this.network };
  }

  /** Registers the removal of something a step added; it runs before the system's own. */
  onDispose(remove: () => Promise<void>): void {
    this.additions.push(remove);
  }

  /** Removes every container, the network and the NATS volume, even after a failure. */
  async dispose(): Promise<void> {
    const results: PromiseSettledResult<unknown>[] = await Promise.allSettled(this.additions.map((r) => r()));
    results.push(...(await Promise.allSettled([...this.services.values(), this.nats].map((c) => c.stop()))));
    results.push(...(await Promise.allSettled([this.network.stop(), removeVolume(this.volume)])));
    rmSync(this.credentials.dir, { recursive: true, force: true });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  private containerOf(name: ServiceName) {
    const c = this.services.get(name);
    if (c === undefined) throw new Error(`no container for ${name}`);
    return this.client.container.getById(c.getId());
  }
}

/**
 * Docker multiplexes a container's stdout and stderr into frames: one byte stream type,
 * three zero bytes, a 32-bit big-endian length, then the payload.
 */
const demuxLogs = (raw: Buffer): string => {
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length;) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
};
