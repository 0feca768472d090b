import type { GetOvsState, ResponseOf, TunnelRemote } from "@sdn/contracts";
import type { Static } from "@sdn/typebox";
import {
  type BfdTimers,
  OvsdbClient,
  type OvsdbEndpoint,
  OvsdbError,
  type RowChange,
  type TunnelSpec,
  Vswitch,
  VswitchPlanError,
} from "@sdn/ovsdb";
import { HostProgramError } from "../errors.js";

/** How the driver reports that it falls back to the host program, and drift. */
export interface SouthboundLog {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

/**
 * A host's Open vSwitch database with a monitor of what we own: a KVM host's through the
 * agent's SSH connection (the host's db.sock forwarded as a stream; no port opened on the
 * host, a new SSH connection if the old one dropped), a XenServer / XCP-ng host's over TLS
 * to port 6640. Reconnects with back-off on its own.
 */
export class HostOvsdb {
  private constructor(readonly vswitch: Vswitch) {}

  static async open(endpoint: OvsdbEndpoint, timeoutMs: number): Promise<HostOvsdb> {
    const client = await OvsdbClient.connect({
      endpoint,
      callTimeoutMs: timeoutMs,
      reconnect: { minMs: 200, maxMs: 5_000 },
    });
    try {
      return new HostOvsdb(await Vswitch.open(client));
    } catch (e) {
      client.close();
      throw e;
    }
  }

  get connected(): boolean {
    return this.vswitch.client.connected;
  }

  onChange(listener: (changes: RowChange[]) => void): () => void {
    return this.vswitch.onChange(listener);
  }

  /** GetOvsState's answer, from the monitor's cache: no round trip at all. */
  state(networkId?: string): ResponseOf<typeof GetOvsState> {
    const strip = <T extends { uuid: string }>({ uuid: _u, ...rest }: T): Omit<T, "uuid"> => rest;
    return {
      bridges: this.vswitch.bridges(networkId).map((b) => ({
        ...strip(b),
        ports: b.ports.map((p) => ({ ...strip(p), interfaces: p.interfaces.map((i) => redactPsk(strip(i))) })),
      })),
    };
  }

  applyTunnels(networkId: string, tunnel: TunnelSpec, remotes: Static<typeof TunnelRemote>[], bfd: BfdTimers) {
    return this.vswitch.applyTunnels(networkId, tunnel, remotes, bfd);
  }

  close(): void {
    this.vswitch.close();
  }
}

/** An interface as answered off the host: an IPsec key never leaves it, only that one is set (as sdn_ipsec.py). */
const redactPsk = <T extends { options: Record<string, string> }>(i: T): T =>
  i.options["psk"] === undefined ? i : { ...i, options: { ...i.options, psk: "<set>" } };

/** Whether an OVSDB failure is about reaching the database (fall back) or a refusal (report). */
export const unreachable = (e: unknown): boolean =>
  e instanceof OvsdbError && e.code !== "OVSDB_ERROR" && e.code !== "MALFORMED_MESSAGE";

/** A refusal in the host program's terms, so answers do not depend on the path taken. */
export const asHostError = (e: unknown): unknown => {
  if (e instanceof VswitchPlanError) return new HostProgramError(e.hostError, e.message);
  if (e instanceof OvsdbError) return new HostProgramError("OVS_COMMAND_FAILED", e.message);
  return e;
};
