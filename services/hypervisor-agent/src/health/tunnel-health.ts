import type { TunnelHealth } from "@sdn/contracts";
import type { TunnelBfdReading } from "@sdn/ovsdb";

/** One tunnel's health as reported to the element. */
export interface TunnelHealthReport {
  networkId: string;
  port: string;
  remoteIp: string;
  health: TunnelHealth;
  diagnostic: string | null;
}

interface Seen {
  report: TunnelHealthReport;
  firstSeenAt: number;
  everUp: boolean;
}

/**
 * Turns a host's successive BFD readings into health changes. BFD says "down" both for a
 * dead path and for a session that has not come up yet; a tunnel never seen up is
 * `unknown` for `graceMs` after it appeared (BFD's detection time and then some), `down`
 * after. A tunnel without BFD (or without a status) is `unknown`: no judgement without it.
 */
export class TunnelHealthTracker {
  private readonly seen = new Map<string, Seen>();
  private reported = false;

  constructor(private readonly graceMs: number) {}

  /** The tunnels whose health changed since the last call; every tunnel on the first call. */
  update(readings: TunnelBfdReading[], now: number): TunnelHealthReport[] {
    const changed: TunnelHealthReport[] = [];
    const present = new Set<string>();
    for (const r of readings) {
      present.add(r.port);
      const prev = this.seen.get(r.port);
      const state = r.bfdEnabled ? r.bfdStatus.state : undefined;
      const up = state === "up" && r.bfdStatus.forwarding !== "false";
      const entry: Seen = prev ?? { report: undefined as never, firstSeenAt: now, everUp: false };
      entry.everUp ||= up;
      const health: TunnelHealth =
        state === undefined || state === "admin_down"
          ? "unknown"
          : up
            ? "up"
            : entry.everUp || now - entry.firstSeenAt >= this.graceMs
              ? "down"
              : "unknown";
      const diagnostic =
        r.bfdStatus.diagnostic && r.bfdStatus.diagnostic !== "No Diagnostic" ? r.bfdStatus.diagnostic : null;
      const report = { networkId: r.networkId, port: r.port, remoteIp: r.remoteIp, health, diagnostic };
      if (!this.reported || prev === undefined || prev.report.health !== health) changed.push(report);
      entry.report = report;
      this.seen.set(r.port, entry);
    }
    // A tunnel that went away is the element's business (its row goes with it): just forget it.
    for (const port of [...this.seen.keys()]) if (!present.has(port)) this.seen.delete(port);
    this.reported = true;
    return changed;
  }
}
