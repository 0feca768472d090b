import { DriftWatch, type DriftListener } from "./drift-watch.js";
import { type HostOvsdb, type SouthboundLog, asHostError, unreachable } from "./host-ovsdb.js";

/**
 * How a driver changes a host's Open vSwitch, as the host's status shows it: over OVSDB,
 * or through the host program / XAPI plugin, with the code and reason when OVSDB was
 * refused (e.g. HOST_CERT_MISMATCH).
 */
export interface SouthboundStatus {
  path: "ovsdb" | "program";
  code?: string;
  reason?: string;
}

/**
 * A host's OVSDB connection shared by both drivers: runs each change over OVSDB when the
 * database is reached, else (or when it is lost mid-way) through the host program, which
 * applies the same semantics: every command is a whole desired state, so re-applying it is
 * safe. What the monitor sees while one of the agent's own changes runs is not drift.
 */
export class OvsdbSouthbound {
  private current: HostOvsdb | undefined;
  private refusal: { code: string; reason: string } | undefined;
  private lastFailure: Error | undefined;
  private readonly drift: DriftWatch;

  constructor(
    private readonly host: string,
    private readonly log: SouthboundLog | undefined,
    onDrift: DriftListener | undefined,
  ) {
    this.drift = new DriftWatch(onDrift ?? (() => undefined));
  }

  /** The host's OVSDB, once reached; undefined: the program does the work. */
  get ovsdb(): HostOvsdb | undefined {
    return this.current;
  }

  /** Drives the host over this database from now on; its changes are watched for drift. */
  attach(ovsdb: HostOvsdb, where: object): void {
    this.detach();
    this.current = ovsdb;
    this.refusal = undefined;
    ovsdb.onChange((changes) => this.drift.observe(changes));
    // A reconnection refused for the host's certificate says so in the status, not just "down".
    ovsdb.vswitch.client.on("reconnectFailed", (e) => {
      if (this.current === ovsdb) this.lastFailure = e.code === "CERTIFICATE_REJECTED" ? e : undefined;
    });
    ovsdb.vswitch.client.on("connected", () => (this.lastFailure = undefined));
    this.log?.info({ host: this.host, ...where }, "driving Open vSwitch over OVSDB");
  }

  /** OVSDB could not be used: the program drives the host, and the status says why. */
  refused(code: string, reason: string, message: string, where: object = {}): void {
    this.detach();
    this.refusal = { code, reason };
    this.log?.warn({ host: this.host, code, reason, ...where }, message);
  }

  status(): SouthboundStatus {
    if (this.current?.connected === true) return { path: "ovsdb" };
    if (this.refusal !== undefined) return { path: "program", ...this.refusal };
    if (this.current === undefined) return { path: "program" };
    if (this.lastFailure !== undefined) {
      return { path: "program", code: "HOST_CERT_MISMATCH", reason: this.lastFailure.message };
    }
    return { path: "program", code: "OVSDB_DISCONNECTED", reason: "the OVSDB connection is down; reconnecting" };
  }

  /** One of the agent's own changes, over OVSDB or the program; not reported as drift. */
  change<T>(what: string, viaOvsdb: (o: HostOvsdb) => Promise<T>, viaProgram: () => Promise<T>): Promise<T> {
    return this.drift.own(() => this.either(what, viaOvsdb, viaProgram));
  }

  /** A change made by other means (e.g. the program plugging a VIF) that is not drift either. */
  own<T>(change: () => Promise<T>): Promise<T> {
    return this.drift.own(change);
  }

  /** A command through OVSDB or the program, with the fallback (reads come here directly). */
  async either<T>(what: string, viaOvsdb: (o: HostOvsdb) => Promise<T>, viaProgram: () => Promise<T>): Promise<T> {
    const o = this.current;
    if (o === undefined || !o.connected) return viaProgram();
    try {
      return await viaOvsdb(o);
    } catch (err) {
      if (!unreachable(err)) throw asHostError(err);
      this.log?.warn(
        { host: this.host, reason: (err as Error).message },
        `OVSDB unavailable for ${what}; using the host program`,
      );
      return viaProgram();
    }
  }

  private detach(): void {
    this.lastFailure = undefined;
    this.current?.close();
    this.current = undefined;
  }

  close(): void {
    this.drift.close();
    this.detach();
  }
}
