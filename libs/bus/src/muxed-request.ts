import { errors, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { MuxUnavailableError } from "./errors.js";

/** What nats.js's request multiplexer holds of a request in flight (its `Request`). */
interface MuxedRequest {
  readonly token: string;
  readonly requestSubject: string;
  received: number;
  resolver(err: Error | null, msg: Msg | undefined): void;
  cancel(err?: Error): void;
}

/** The parts of the connection's protocol handler a muxed request uses. */
interface MuxProtocol {
  request(r: MuxedRequest): MuxedRequest;
  muxSubscriptions: { baseInbox: string; cancel(r: MuxedRequest): void };
}

const protocolOf = (nc: NatsConnection): MuxProtocol => {
  const protocol = (nc as unknown as { protocol?: Partial<MuxProtocol> }).protocol;
  if (typeof protocol?.request !== "function" || typeof protocol.muxSubscriptions?.cancel !== "function") {
    throw new MuxUnavailableError();
  }
  return protocol as MuxProtocol;
};

/*
 * Tokens of nats.js's own requests are alphanumeric (randomToken); a dash keeps ours apart
 * in the multiplexer they share. The inbox prefix before it is random per connection.
 */
let sequence = 0;

/** One request in the multiplexer: a class, so that a request allocates no closures. */
class PendingRequest implements MuxedRequest {
  readonly token = `r-${(sequence++).toString(36)}`;
  received = 0;
  readonly answer: Promise<Msg>;
  private resolve!: (msg: Msg) => void;
  private reject!: (err: Error) => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly protocol: MuxProtocol,
    readonly requestSubject: string,
    timeoutMs: number,
  ) {
    this.answer = new Promise<Msg>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = setTimeout(() => this.resolver(new errors.TimeoutError(), undefined), timeoutMs);
  }

  resolver(err: Error | null, msg: Msg | undefined): void {
    this.forget();
    if (err === null) this.resolve(msg as Msg);
    else this.reject(err instanceof errors.TimeoutError ? err : new errors.RequestError(err.message, { cause: err }));
  }

  /** Nothing in nats.js cancels a request it did not send itself; here for the interface's sake. */
  cancel(err?: Error): void {
    this.resolver(err ?? new errors.RequestError("cancelled"), undefined);
  }

  /** A publish refused at once (a closed or draining connection) rejects as nats.js's does: as thrown. */
  refused(err: unknown): void {
    this.forget();
    this.reject(err instanceof Error ? err : new Error(String(err)));
  }

  private forget(): void {
    clearTimeout(this.timer);
    this.protocol.muxSubscriptions.cancel(this);
  }
}

/**
 * `nc.request` on the connection's shared reply inbox, settling as nats.js does (a reply;
 * `errors.TimeoutError` after `timeout`; a `errors.RequestError` whose cause says why
 * otherwise: no responders, a permission violation on the subject, the connection closing),
 * without the Error nats.js builds for every request it completes: its `cancel` rejects
 * the already-settled promise with a fresh `RequestError("cancelled")`, a stack capture per
 * successful request (issue 18: 4-5 % of an HTTP read's CPU in the gateway). Errors are
 * built here only for requests that fail.
 */
export const muxedRequest = (
  nc: NatsConnection,
  subject: string,
  data: string,
  opts: { timeout: number; headers?: MsgHdrs },
): Promise<Msg> => {
  const protocol = protocolOf(nc);
  // nats.js's own checks before a request: a draining connection would not take the reply.
  if (nc.isDraining()) return Promise.reject(new errors.DrainingConnectionError());
  const timeout = opts.timeout || 1_000;
  if (timeout < 1) return Promise.reject(errors.InvalidArgumentError.format("timeout", "must be greater than 0"));
  const r = new PendingRequest(protocol, subject, timeout);
  protocol.request(r);
  try {
    nc.publish(subject, data, { reply: `${protocol.muxSubscriptions.baseInbox}${r.token}`, headers: opts.headers });
  } catch (err) {
    r.refused(err);
  }
  return r.answer;
};
