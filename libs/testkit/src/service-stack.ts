import type { ServiceName } from "@sdn/contracts";
import { startService, type RunningService, type ServiceSpec } from "@sdn/runtime";
import type { TProperties } from "@sdn/typebox";

type Env = Record<string, string | undefined>;

/**
 * Services started in-process on one bus, stopped again in reverse order. The environment
 * every service shares is fixed once (or derived from the service's name, for a secured bus
 * where each service has its own credentials); each start adds the service's own settings.
 */
export class ServiceStack {
  readonly running: RunningService<never>[] = [];

  constructor(private readonly sharedEnv: Env | ((service: ServiceName) => Env)) {}

  async start<P extends TProperties>(spec: ServiceSpec<P>, extra: Env = {}) {
    const shared = typeof this.sharedEnv === "function" ? this.sharedEnv(spec.name) : this.sharedEnv;
    const svc = await startService(spec, { LOG_LEVEL: "silent", ...shared, ...extra });
    this.running.push(svc as unknown as RunningService<never>);
    return svc;
  }

  /** Stops every service started so far, the last first (a gateway before what it calls). */
  async stop(): Promise<void> {
    for (const svc of this.running.splice(0).reverse()) await svc.stop();
  }
}

/**
 * Starts the services one after another (the order matters: a consumer's streams before its
 * producers' commands). A start that fails stops the ones already running, so a failed
 * `beforeAll` leaves no consumers behind on the test's nats-server.
 */
export const startStack = async (
  sharedEnv: Env | ((service: ServiceName) => Env),
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- specs of different config shapes
  services: readonly (readonly [ServiceSpec<any>, Env?])[],
): Promise<ServiceStack> => {
  const stack = new ServiceStack(sharedEnv);
  try {
    for (const [spec, extra] of services) await stack.start(spec, extra);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
};
