/**
 * Component run levels, after CloudStack's ComponentLifecycle: every component is
 * configured (all levels, in order) before any is started (all levels, in order), and
 * they stop in the reverse order of starting.
 */
export const RunLevel = {
  SystemBootstrap: 0,
  System: 1,
  FrameworkBootstrap: 2,
  Framework: 3,
  ComponentBootstrap: 4,
  Component: 5,
  ApplicationMainLoop: 6,
} as const;
export type RunLevel = (typeof RunLevel)[keyof typeof RunLevel];

export interface Component {
  readonly name: string;
  readonly runLevel: RunLevel;
  /** Check settings and prepare; nothing may be reachable by others yet. */
  configure?(): Promise<void> | void;
  /** Begin serving. */
  start?(): Promise<void> | void;
  /** Stop serving and release what start took. */
  stop?(): Promise<void> | void;
}

export class LifecycleError extends Error {
  override readonly name = "LifecycleError";
  constructor(
    readonly component: string,
    readonly phase: "configure" | "start" | "stop",
    cause: unknown,
  ) {
    super(`${component} failed to ${phase}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export interface LifecycleLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Runs a set of components through configure → start → stop. If a start fails, the
 * components already started are stopped again (in reverse) before the error is thrown,
 * so a failed boot leaves nothing half-running.
 */
export class ComponentContext {
  private readonly started: Component[] = [];
  private readonly ordered: Component[];

  constructor(
    components: readonly Component[],
    private readonly logger: LifecycleLogger,
  ) {
    // Stable sort: components of one level keep the order they were given in.
    this.ordered = [...components].sort((a, b) => a.runLevel - b.runLevel);
  }

  async configureAndStart(): Promise<void> {
    for (const c of this.ordered) {
      this.logger.info({ component: c.name, runLevel: c.runLevel }, "configuring");
      try {
        await c.configure?.();
      } catch (err) {
        throw new LifecycleError(c.name, "configure", err);
      }
    }
    for (const c of this.ordered) {
      this.logger.info({ component: c.name, runLevel: c.runLevel }, "starting");
      try {
        await c.start?.();
      } catch (err) {
        await this.stop();
        throw new LifecycleError(c.name, "start", err);
      }
      this.started.push(c);
    }
  }

  /** Stops started components in reverse order; one failing stop does not prevent the rest. */
  async stop(): Promise<void> {
    while (this.started.length > 0) {
      const c = this.started.pop() as Component;
      this.logger.info({ component: c.name }, "stopping");
      try {
        await c.stop?.();
      } catch (err) {
        this.logger.error({ err: new LifecycleError(c.name, "stop", err) }, "component failed to stop");
      }
    }
  }
}
