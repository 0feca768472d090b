import type { NatsConnection } from "@nats-io/transport-node";
import {
  bindHandler,
  collectConsumerLag,
  CommandClient,
  CommandServer,
  connectBus,
  CredentialFileError,
  ensureStreams,
  EventPublisher,
  metrics,
  registerMicro,
  type MicroService,
  useStorage,
  type BoundHandler,
} from "@sdn/bus";
import {
  CheckHealth,
  commandConsumerName,
  COMMAND_SERVICES,
  inboxPrefix,
  STREAMS,
  ServiceStarted,
  type CommandServiceName,
  type ServiceName,
} from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import type { Static, TObject, TProperties } from "@sdn/typebox";
import { BaseConfig, busCredentialsOf, ConfigError, loadConfig } from "./config.js";
import { ComponentContext, LifecycleError, RunLevel, type Component } from "./lifecycle.js";
import { removeInstanceFile, writeInstanceFile } from "./instance-file.js";
import { createLogger, type Logger } from "./logger.js";
import { startMetricsListener, type MetricsListener } from "./metrics-server.js";
import { onShutdownSignal } from "./shutdown.js";
import { setupTelemetry, type Telemetry } from "./telemetry.js";

/** What a service's components are built from. */
export interface ServiceContext<C extends BaseConfig> {
  readonly name: ServiceName;
  readonly version: string;
  readonly instanceId: string;
  readonly config: C;
  readonly logger: Logger;
  readonly nc: NatsConnection;
  readonly commands: CommandClient;
  readonly events: EventPublisher;
}

/** What a service's setup opened: its components and its handlers, built on the same state. */
export interface ServiceParts<S = unknown> {
  /** The service's own components (watchers, servers): started in run-level order after setup. */
  components?: Component[];
  /** Handlers of this service's durable commands. CheckHealth is added for every command service. */
  handlers?: BoundHandler[];
  /** What setup built (its managers), for in-process tests and benchmarks to look inside. */
  state?: S;
}

export interface ServiceSpec<P extends TProperties, S = unknown> {
  name: ServiceName;
  version: string;
  description: string;
  /** The service's configuration; must include BaseConfig's properties. */
  config: TObject<P>;
  /**
   * Opens the service's state (KV stores, keys) and returns the components and handlers
   * built on it, so a handler never meets a service that is not open yet. Runs once the bus
   * is connected, before any component configures; a throw stops the start.
   */
  setup?(ctx: ServiceContext<Static<TObject<P>> & BaseConfig>): ServiceParts<S> | Promise<ServiceParts<S>>;
  /** Durable commands one replica handles at once (the command server's default when absent). */
  commandConcurrency?: number;
}

export interface RunningService<C extends BaseConfig, S = unknown> {
  readonly context: ServiceContext<C>;
  /** What the service's setup built (undefined when it exposes nothing). */
  readonly state: S | undefined;
  /** `http://host:port` of the metrics listener, when SDN_METRICS_PORT set one. */
  readonly metricsUrl: string | undefined;
  stop(): Promise<void>;
}

const serviceInfo = metrics.gauge("sdn_service_info", "1 for each running service replica, labelled with what it is", [
  "service",
  "version",
  "instance",
]);

const isCommandService = (name: ServiceName): name is CommandServiceName =>
  (COMMAND_SERVICES as readonly string[]).includes(name);

const healthHandler = (name: CommandServiceName, version: string, instanceId: string, startedAt: number) =>
  bindHandler(CheckHealth[name], async () => ({
    data: { service: name, version, instanceId, uptimeSeconds: (Date.now() - startedAt) / 1000 },
    details: `${name} ${version} (${instanceId}) is serving commands`,
  }));

/**
 * Starts a service: config, logging, tracing, NATS, streams, the service's components,
 * then its durable command consumer and its NATS micro registration, in run-level order.
 */
export const startService = async <P extends TProperties, S = unknown>(
  spec: ServiceSpec<P, S>,
  env: Record<string, string | undefined> = process.env,
): Promise<RunningService<Static<TObject<P>> & BaseConfig, S>> => {
  type C = Static<TObject<P>> & BaseConfig;
  const config = loadConfig(spec.config, env) as C;
  const logger = createLogger(spec.name, config.LOG_LEVEL);
  const startedAt = Date.now();
  const instanceId = `${spec.name}-${randomUUID().slice(0, 8)}`;
  const telemetry: Telemetry = await setupTelemetry({
    service: spec.name,
    version: spec.version,
    instanceId,
    serviceName: config.OTEL_SERVICE_NAME,
    resourceAttributes: config.OTEL_RESOURCE_ATTRIBUTES,
    exporter: config.OTEL_TRACES_EXPORTER,
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  const nc = await connectBus({
    servers: config.NATS_URL,
    name: instanceId,
    logger,
    ...busCredentialsOf(config, inboxPrefix(spec.name)),
  }).catch((err: unknown) => {
    // A credential file that is not there will not appear by itself: a configuration error.
    if (err instanceof CredentialFileError) {
      throw new ConfigError([{ variable: "NATS_CREDS / NATS_NKEY_SEED_FILE", problem: err.message }]);
    }
    throw err;
  });
  useStorage(nc, { replicas: config.SDN_NATS_REPLICAS });
  const context: ServiceContext<C> = {
    name: spec.name,
    version: spec.version,
    instanceId,
    config,
    logger,
    nc,
    commands: new CommandClient(nc, { kind: "principal", name: spec.name }),
    events: new EventPublisher(nc),
  };
  let parts: ServiceParts<S>;
  try {
    parts = (await spec.setup?.(context)) ?? {};
  } catch (err) {
    await nc.close().catch(() => undefined);
    await telemetry.shutdown();
    throw err;
  }
  const handlers = [
    ...(isCommandService(spec.name) ? [healthHandler(spec.name, spec.version, instanceId, startedAt)] : []),
    ...(parts.handlers ?? []),
  ];
  const commandServer = new CommandServer(nc, {
    service: spec.name,
    handlers,
    logger,
    consumerCheckMs: config.SDN_CONSUMER_CHECK_MS,
    ...(spec.commandConcurrency === undefined ? {} : { concurrency: spec.commandConcurrency }),
  });
  const servesCommands = handlers.length > 0 && isCommandService(spec.name);
  let micro: MicroService | undefined;
  let metricsListener: MetricsListener | undefined;
  const identity = { service: spec.name, version: spec.version, instance: instanceId };
  const stopCollecting: (() => void)[] = [];
  const components: Component[] = [
    {
      name: "metrics",
      runLevel: RunLevel.FrameworkBootstrap,
      start: async () => {
        serviceInfo.set(identity, 1);
        if (isCommandService(spec.name)) {
          stopCollecting.push(collectConsumerLag(nc, STREAMS.commands.name, commandConsumerName(spec.name)));
        }
        if (config.SDN_METRICS_PORT !== undefined) {
          metricsListener = await startMetricsListener({
            host: config.SDN_METRICS_HOST,
            port: config.SDN_METRICS_PORT,
            logger,
          });
        }
      },
      stop: async () => {
        serviceInfo.remove(identity);
        stopCollecting.forEach((stop) => stop());
        await metricsListener?.close();
      },
    },
    {
      name: "nats",
      runLevel: RunLevel.SystemBootstrap,
      // Draining answers what is in flight before the connection closes.
      stop: async () => {
        await nc.drain();
        await telemetry.shutdown();
      },
    },
    { name: "streams", runLevel: RunLevel.FrameworkBootstrap, start: () => ensureStreams(nc) },
    ...(parts.components ?? []),
    ...(servesCommands
      ? [
          {
            name: "command-server",
            runLevel: RunLevel.ApplicationMainLoop,
            start: () => commandServer.start(),
            stop: () => commandServer.stop(),
          },
        ]
      : []),
    {
      name: "micro-registration",
      runLevel: RunLevel.ApplicationMainLoop,
      start: async () => {
        micro = await registerMicro(nc, {
          name: spec.name,
          version: spec.version,
          description: spec.description,
          instanceId,
          logger,
          ...(servesCommands && isCommandService(spec.name) ? { requests: { service: spec.name, handlers } } : {}),
          // Up only while commands reach the service: a missing consumer turns readiness and the health check red.
          health: async () => {
            const commands = servesCommands ? await commandServer.health() : { ok: true, detail: "serves no commands" };
            return {
              status: commands.ok ? "up" : "unhealthy",
              detail: commands.detail,
              service: spec.name,
              version: spec.version,
              instanceId,
              uptimeSeconds: (Date.now() - startedAt) / 1000,
            };
          },
        });
        if (config.SDN_INSTANCE_FILE !== undefined) {
          await writeInstanceFile(config.SDN_INSTANCE_FILE, {
            service: spec.name,
            instanceId,
            microId: micro.service.info().id,
            pid: process.pid,
          });
        }
        await context.events.publish(ServiceStarted[spec.name], { version: spec.version, instanceId });
      },
      stop: async () => {
        if (config.SDN_INSTANCE_FILE !== undefined) await removeInstanceFile(config.SDN_INSTANCE_FILE, instanceId);
        // Endpoints drain (no new request), then the requests in hand are answered.
        await micro?.service.stop();
        await micro?.requests?.idle();
      },
    },
  ];
  const lifecycle = new ComponentContext(components, logger);
  try {
    await lifecycle.configureAndStart();
  } catch (err) {
    await nc.close().catch(() => undefined);
    await telemetry.shutdown();
    throw err;
  }
  logger.info({ instanceId, version: spec.version }, `${spec.name} started`);
  return { context, state: parts.state, metricsUrl: metricsListener?.url, stop: () => lifecycle.stop() };
};

/**
 * The `main` of every service: start, stop gracefully on SIGTERM/SIGINT, and on a bad
 * configuration print which variable is wrong and exit non-zero.
 */
export const runServiceMain = <P extends TProperties, S>(spec: ServiceSpec<P, S>): void => {
  startService(spec).then(
    (running) => onShutdownSignal(() => running.stop(), running.context.logger),
    (err: unknown) => {
      // A component may find a bad setting only when it configures (e.g. a range whose ends are swapped).
      const config = err instanceof LifecycleError && err.cause instanceof ConfigError ? err.cause : err;
      if (config instanceof ConfigError) {
        process.stderr.write(`${spec.name}: ${config.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`${spec.name}: failed to start: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
};
