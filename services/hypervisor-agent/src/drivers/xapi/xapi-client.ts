import { X509Certificate } from "node:crypto";
import { Agent } from "node:https";
import { createRequire } from "node:module";
import { checkServerIdentity, type PeerCertificate } from "node:tls";

// A CommonJS module with `export =`: loaded through require in this ES module.
const xmlrpc = createRequire(import.meta.url)("xmlrpc") as typeof import("xmlrpc");

/** An XAPI error: the ErrorDescription list, [code, ...params], as XAPI sent it. */
export class XapiError extends Error {
  override readonly name = "XapiError";
  constructor(
    readonly code: string,
    readonly params: readonly string[],
  ) {
    super(`${code}${params.length > 0 ? ` ${params.map((p) => JSON.stringify(p)).join(" ")}` : ""}`);
  }
}

/** The host did not answer (refused, unreachable, timed out) or spoke something else. */
export class XapiTransportError extends Error {
  override readonly name = "XapiTransportError";
  constructor(
    message: string,
    readonly tls: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface XapiTls {
  /** PEM of the CA that signed the host's certificate, or of the certificate itself. */
  certificate?: string;
  /** Accept any certificate (labs only). */
  insecure?: boolean;
}

export interface XapiClientOptions {
  address: string;
  port: number;
  username: string;
  password: string;
  tls: XapiTls;
  timeoutMs: number;
  originator: string;
}

const TLS_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ALTNAME|SSL/;

/** Calls that can be sent again after a reset connection without doing anything twice. */
const REPEATABLE = /^(session\.login_with_password|host\.call_plugin|[A-Za-z_]+\.get_[A-Za-z_]+|system\.listMethods)$/;

/** The connection was reset or closed before an answer came. */
const isReset = (cause: unknown): boolean => {
  const e = cause as { code?: string; message?: string } | undefined;
  return e?.code === "ECONNRESET" || e?.message === "socket hang up";
};

/**
 * A small typed XAPI client over XML-RPC (the `xmlrpc` package): one session reused for
 * every call, a new login when XAPI says SESSION_INVALID, HOST_IS_SLAVE followed to the
 * pool master, the Status/Value envelope unwrapped into values or XapiErrors, a timeout
 * per call, and TLS checked against a pinned CA or certificate.
 */
export class XapiClient {
  private session: string | undefined;
  private loggingIn: Promise<string> | undefined;
  private readonly agent: Agent;
  /** Where calls go: the given address, or the pool master it pointed to. */
  private target: string;

  constructor(private readonly opts: XapiClientOptions) {
    this.target = opts.address;
    const pinned = opts.tls.certificate === undefined ? undefined : fingerprintOf(opts.tls.certificate);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 8,
      ...(opts.tls.insecure === true ? { rejectUnauthorized: false } : {}),
      ...(opts.tls.certificate === undefined ? {} : { ca: opts.tls.certificate }),
      // A pinned certificate is trusted whatever names it carries; a CA's certificates must match the address.
      checkServerIdentity: (host: string, cert: PeerCertificate) =>
        pinned !== undefined && cert.fingerprint256 === pinned ? undefined : checkServerIdentity(host, cert),
    });
  }

  /** The address calls currently go to (the pool master after HOST_IS_SLAVE). */
  get masterAddress(): string {
    return this.target;
  }

  /** Calls `method` with the session as first parameter; logs in (again) when needed. */
  async call<T>(method: string, ...params: unknown[]): Promise<T> {
    const session = await this.ensureSession();
    try {
      return (await this.rawCall(method, [session, ...params])) as T;
    } catch (err) {
      if (!(err instanceof XapiError) || err.code !== "SESSION_INVALID") throw err;
      if (this.session === session) this.session = undefined;
      return (await this.rawCall(method, [await this.ensureSession(), ...params])) as T;
    }
  }

  async login(): Promise<string> {
    return this.ensureSession();
  }

  /** Ends the session on the host; safe to call when there is none. */
  async logout(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) await this.rawCall("session.logout", [session]).catch(() => undefined);
    this.agent.destroy();
  }

  private ensureSession(): Promise<string> {
    if (this.session !== undefined) return Promise.resolve(this.session);
    this.loggingIn ??= this.doLogin().finally(() => (this.loggingIn = undefined));
    return this.loggingIn;
  }

  private async doLogin(): Promise<string> {
    for (let hop = 0; ; hop++) {
      try {
        const session = (await this.rawCall("session.login_with_password", [
          this.opts.username,
          this.opts.password,
          "1.0",
          this.opts.originator,
        ])) as string;
        this.session = session;
        return session;
      } catch (err) {
        // A pool member answers with its master's address: talk to the master instead.
        if (err instanceof XapiError && err.code === "HOST_IS_SLAVE" && hop < 2 && err.params[0]) {
          this.target = err.params[0];
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * One XML-RPC call. A call that may be repeated (reads, login, the host programs, which
   * apply whole sets) is sent once more when the connection was reset under it: a kept-alive
   * connection the host closed as it was reused ("socket hang up") dropped the host as
   * unreachable for a moment (the quickstart's ListVms did so once in a CI rehearsal).
   */
  private async rawCall(method: string, params: unknown[]): Promise<unknown> {
    try {
      return await this.sendCall(method, params);
    } catch (err) {
      if (!(err instanceof XapiTransportError) || !isReset(err.cause) || !REPEATABLE.test(method)) throw err;
      return this.sendCall(method, params);
    }
  }

  private sendCall(method: string, params: unknown[]): Promise<unknown> {
    const client = xmlrpc.createSecureClient({
      host: this.target,
      port: this.opts.port,
      path: "/",
      headers: { "User-Agent": this.opts.originator },
      // Not in @types/xmlrpc, handed to https.request as they are.
      ...({ agent: this.agent, signal: AbortSignal.timeout(this.opts.timeoutMs) } as object),
    });
    return new Promise((resolve, reject) => {
      let settled = false;
      client.methodCall(method, params, (error: unknown, value: unknown) => {
        if (settled) return;
        settled = true;
        if (error !== null && error !== undefined) {
          reject(this.transportError(method, error));
          return;
        }
        const envelope = value as { Status?: string; Value?: unknown; ErrorDescription?: unknown[] } | unknown[];
        if (method === "system.listMethods" || Array.isArray(envelope)) {
          resolve(envelope);
          return;
        }
        if (envelope?.Status === "Success") resolve(envelope.Value);
        else if (envelope?.Status === "Failure" && Array.isArray(envelope.ErrorDescription)) {
          const [code, ...rest] = envelope.ErrorDescription.map(String);
          reject(new XapiError(code ?? "UNKNOWN_ERROR", rest));
        } else reject(new XapiTransportError(`${method}: the host's answer is not an XAPI envelope`, false));
      });
    });
  }

  private transportError(method: string, error: unknown): XapiTransportError {
    const e = error as { code?: string; name?: string; message?: string };
    const where = `${this.target}:${this.opts.port}`;
    if (e.name === "AbortError" || e.name === "TimeoutError") {
      return new XapiTransportError(`${where} did not answer ${method} within ${this.opts.timeoutMs} ms`, false);
    }
    const detail = e.code ?? e.message ?? String(error);
    const tls = TLS_ERRORS.test(detail) || TLS_ERRORS.test(e.message ?? "");
    return new XapiTransportError(`${where}: ${e.message ?? detail}`, tls, { cause: error });
  }
}

export const fingerprintOf = (pem: string): string | undefined => {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return undefined;
  }
};
