import { EventEmitter } from "node:events";
import { OvsdbError, OvsdbServerError, serverErrorText } from "./errors.js";
import { Monitor, type MonitorSpec } from "./monitor.js";
import type { Operation, OperationResult } from "./operations.js";
import { RpcSession } from "./rpc-session.js";
import { SchemaInfo } from "./schema.js";
import { type OvsdbEndpoint, openEndpoint } from "./transport.js";

export interface OvsdbClientOptions {
  endpoint: OvsdbEndpoint;
  /** Deadline of one call, and of opening a connection. Default 10 s. */
  callTimeoutMs?: number;
  /** Largest message accepted. Default 64 MiB (a full Open_vSwitch dump of 1,000 tunnels is ~2 MiB). */
  maxMessageBytes?: number;
  /** Echo keep-alive period; a missed echo drops the connection. Default 5 s, 0 off. */
  echoIntervalMs?: number;
  /** Reconnect back-off, doubling from `minMs` to `maxMs`; false: never reconnect. */
  reconnect?: { minMs: number; maxMs: number } | false;
}

type ClientEvents = {
  connected: [];
  disconnected: [OvsdbError | undefined];
  /** A reconnect attempt or a monitor re-issue failed; the client keeps trying. */
  reconnectFailed: [OvsdbError];
};

/**
 * An RFC 7047 client: list_dbs, get_schema, transact, monitor_cond (monitor on servers
 * without it), echo both ways, and reconnect with back-off that re-issues every monitor.
 * Calls made while disconnected fail at once with CLOSED: desired state lives with the
 * caller, so it retries rather than us queueing writes that may be stale by then.
 */
export class OvsdbClient extends EventEmitter<ClientEvents> {
  private session: RpcSession | undefined;
  private readonly monitors = new Map<string, Monitor>();
  private readonly schemas = new Map<string, SchemaInfo>();
  private nextMonitor = 1;
  private useMonitorCond = true;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private readonly callTimeoutMs: number;

  private constructor(private readonly options: OvsdbClientOptions) {
    super();
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.backoffMs = options.reconnect ? options.reconnect.minMs : 0;
  }

  /** Connects (the first attempt must succeed) and returns the client. */
  static async connect(options: OvsdbClientOptions): Promise<OvsdbClient> {
    const client = new OvsdbClient(options);
    await client.open();
    return client;
  }

  get connected(): boolean {
    return this.session !== undefined && !this.session.closed;
  }

  async listDbs(): Promise<string[]> {
    const r = await this.call("list_dbs", []);
    if (!Array.isArray(r) || !r.every((x) => typeof x === "string")) {
      throw new OvsdbError("MALFORMED_MESSAGE", "list_dbs answered something other than a list of names");
    }
    return r;
  }

  async getSchema(db: string): Promise<SchemaInfo> {
    const known = this.schemas.get(db);
    if (known) return known;
    const schema = SchemaInfo.parse(await this.call("get_schema", [db]));
    this.schemas.set(db, schema);
    return schema;
  }

  /**
   * Runs the operations as one transaction (all or nothing). Throws OvsdbServerError naming
   * the failing operation when the server refuses any of them.
   */
  async transact(db: string, ops: Operation[], timeoutMs?: number): Promise<OperationResult[]> {
    const r = await this.call("transact", [db, ...ops], timeoutMs);
    if (!Array.isArray(r) || r.length < ops.length) {
      throw new OvsdbError("MALFORMED_MESSAGE", "transact answered something other than one result per operation");
    }
    r.forEach((res: unknown, i) => {
      const e = res as { error?: unknown; details?: unknown } | null;
      if (e && typeof e === "object" && e.error !== undefined && e.error !== null) {
        const details = typeof e.details === "string" ? e.details : undefined;
        throw new OvsdbServerError("transact", serverErrorText(e.error), details, i < ops.length ? i : undefined);
      }
    });
    return r.slice(0, ops.length) as OperationResult[];
  }

  /** Starts following `spec`; the returned monitor's cache already holds the initial rows. */
  async monitor(db: string, spec: MonitorSpec): Promise<Monitor> {
    const schema = await this.getSchema(db);
    for (const t of Object.keys(spec)) {
      if (!schema.hasTable(t)) throw new OvsdbError("OVSDB_ERROR", `database ${db} has no table ${t}`);
    }
    const monitor = new Monitor(`m${this.nextMonitor++}`, db, spec, schema);
    this.monitors.set(monitor.id, monitor);
    try {
      await this.issue(monitor);
    } catch (e) {
      this.monitors.delete(monitor.id);
      throw e;
    }
    return monitor;
  }

  /** Stops a monitor (monitor_cancel) and forgets it. */
  async cancel(monitor: Monitor): Promise<void> {
    this.monitors.delete(monitor.id);
    if (this.connected) await this.call("monitor_cancel", [monitor.id]).catch(() => undefined);
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.session?.close();
    this.session = undefined;
  }

  private call(method: string, params: unknown[], timeoutMs?: number): Promise<unknown> {
    if (!this.session || this.session.closed) {
      return Promise.reject(new OvsdbError("CLOSED", `cannot ${method}: not connected to the OVSDB server`));
    }
    return this.session.call(method, params, timeoutMs);
  }

  private async issue(monitor: Monitor): Promise<void> {
    const request = Object.fromEntries(Object.entries(monitor.spec).map(([t, columns]) => [t, { columns }]));
    let result: unknown;
    if (this.useMonitorCond) {
      try {
        result = await this.call("monitor_cond", [monitor.db, monitor.id, request]);
      } catch (e) {
        if (!(e instanceof OvsdbServerError) || e.error !== "unknown method") throw e;
        this.useMonitorCond = false; // an ovsdb-server before 2.6
      }
    }
    if (!this.useMonitorCond) result = await this.call("monitor", [monitor.db, monitor.id, request]);
    monitor.feed(monitor.cache.replace(result, this.useMonitorCond ? "update2" : "update"));
  }

  private async open(): Promise<void> {
    const stream = await openEndpoint(this.options.endpoint, this.callTimeoutMs);
    const session = new RpcSession(
      stream,
      {
        maxMessageBytes: this.options.maxMessageBytes ?? 64 * 1024 * 1024,
        callTimeoutMs: this.callTimeoutMs,
        echoIntervalMs: this.options.echoIntervalMs ?? 5_000,
      },
      {
        notification: (method, params) => this.onNotification(method, params),
        closed: (error) => this.onClosed(session, error),
      },
    );
    this.session = session;
    for (const m of this.monitors.values()) await this.issue(m);
    if (this.options.reconnect) this.backoffMs = this.options.reconnect.minMs;
    this.emit("connected");
  }

  private onNotification(method: string, params: unknown[]): void {
    if (method !== "update" && method !== "update2") return; // locked/stolen: we take no locks
    const monitor = typeof params[0] === "string" ? this.monitors.get(params[0]) : undefined;
    if (!monitor) return; // a monitor we cancelled a moment ago
    monitor.feed(monitor.cache.apply(params[1], method));
  }

  private onClosed(session: RpcSession, error: OvsdbError | undefined): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.emit("disconnected", error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const policy = this.options.reconnect;
    if (this.stopped || !policy) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(policy.maxMs, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => {
      this.open().catch((e: unknown) => {
        const half = this.session; // connected, but re-issuing a monitor failed
        this.session = undefined;
        half?.close();
        this.emit("reconnectFailed", e instanceof OvsdbError ? e : new OvsdbError("CONNECT_FAILED", String(e)));
        this.scheduleReconnect();
      });
    }, delay);
    this.retryTimer.unref();
  }
}
