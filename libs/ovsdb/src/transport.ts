import { isIP, connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from "node:tls";
import { OvsdbError } from "./errors.js";

/** Where an OVSDB server listens (ovsdb-server's --remote forms, plus any open stream). */
export type OvsdbEndpoint =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; host: string; port: number }
  /**
   * TLS presenting our client certificate; the server's certificate is verified, never
   * skipped: issued by `ca` (the system's CAs when absent) for the host's name, or exactly
   * the certificate whose SHA-256 fingerprint is `pinnedFingerprint256` (a self-signed host
   * certificate pinned like an SSH host key; `ca` is then that certificate itself).
   */
  | {
      kind: "tls";
      host: string;
      port: number;
      ca?: string;
      cert: string;
      key: string;
      servername?: string;
      /** Node's `fingerprint256` form: upper-case hex pairs joined by colons. */
      pinnedFingerprint256?: string;
    }
  /** A stream someone else opened, e.g. an SSH-forwarded unix socket. */
  | { kind: "stream"; open: () => Promise<Duplex> };

/** Parses `unix:<path>` and `tcp:<host>:<port>` (ovs-vsctl --db syntax). */
export function parseRemote(remote: string): OvsdbEndpoint {
  if (remote.startsWith("unix:")) return { kind: "unix", path: remote.slice(5) };
  const tcp = /^tcp:(.+):(\d{1,5})$/.exec(remote);
  if (tcp) return { kind: "tcp", host: tcp[1]!.replace(/^\[|\]$/g, ""), port: Number(tcp[2]) };
  throw new OvsdbError("CONNECT_FAILED", `not an OVSDB remote we can open: ${remote}`);
}

/** Node's codes for a peer certificate it does not trust (chain, name or signature). */
const certificateError = (e: Error): boolean =>
  /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/.test((e as NodeJS.ErrnoException).code ?? "");

function describe(e: OvsdbEndpoint): string {
  if (e.kind === "unix") return `unix:${e.path}`;
  if (e.kind === "stream") return "a forwarded stream";
  return `${e.kind === "tls" ? "ssl" : "tcp"}:${e.host}:${e.port}`;
}

/** Opens a connection, failing with CONNECT_FAILED (or TIMEOUT) rather than hanging. */
export async function openEndpoint(endpoint: OvsdbEndpoint, timeoutMs: number): Promise<Duplex> {
  const where = describe(endpoint);
  if (endpoint.kind === "stream") {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new OvsdbError("TIMEOUT", `opening ${where} took over ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([endpoint.open(), deadline]);
    } catch (e) {
      throw e instanceof OvsdbError ? e : new OvsdbError("CONNECT_FAILED", `cannot open ${where}: ${String(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }
  const socket: Socket =
    endpoint.kind === "unix"
      ? netConnect({ path: endpoint.path })
      : endpoint.kind === "tcp"
        ? netConnect({ host: endpoint.host, port: endpoint.port })
        : tlsConnect({
            host: endpoint.host,
            port: endpoint.port,
            ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }),
            cert: endpoint.cert,
            key: endpoint.key,
            // SNI carries names only; an address is checked against the certificate's IP SANs.
            ...(endpoint.servername !== undefined || !isIP(endpoint.host)
              ? { servername: endpoint.servername ?? endpoint.host }
              : {}),
            rejectUnauthorized: true,
            checkServerIdentity: (host: string, cert: PeerCertificate) =>
              endpoint.pinnedFingerprint256 !== undefined && cert.fingerprint256 === endpoint.pinnedFingerprint256
                ? undefined
                : checkServerIdentity(host, cert),
          });
  const ready = endpoint.kind === "tls" ? "secureConnect" : "connect";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new OvsdbError("TIMEOUT", `connecting to ${where} took over ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      const code = endpoint.kind === "tls" && certificateError(e) ? "CERTIFICATE_REJECTED" : "CONNECT_FAILED";
      reject(new OvsdbError(code, `cannot connect to ${where}: ${e.message}`, { cause: e }));
    });
  });
}
