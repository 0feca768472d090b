import type { Duplex } from "node:stream";
import { OvsdbError, OvsdbServerError, serverErrorText } from "./errors.js";
import { JsonSplitter } from "./json-splitter.js";

export interface RpcSessionOptions {
  /** Largest message accepted from the server, in bytes. */
  maxMessageBytes: number;
  /** Default deadline of a call. */
  callTimeoutMs: number;
  /** Send an echo this often; a missed answer closes the session (0: never). */
  echoIntervalMs: number;
}

export interface RpcSessionEvents {
  /** A server notification (update, update2, locked, ...). */
  notification(method: string, params: unknown[]): void;
  /** The session ended; `error` says why, unless we closed it ourselves. */
  closed(error: OvsdbError | undefined): void;
}

interface Pending {
  method: string;
  resolve(result: unknown): void;
  reject(error: OvsdbError): void;
  timer: NodeJS.Timeout;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * One JSON-RPC 1.0 conversation (RFC 7047 §4) over a byte stream. Answers the server's
 * echo requests, keeps its own echo going, matches responses to calls by id, and closes
 * on anything that is not a well-formed message: a server that lies about ids or sends
 * garbage must not be believed for the rest of the connection.
 */
export class RpcSession {
  private readonly splitter: JsonSplitter;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private isClosed = false;
  private readonly echoTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly options: RpcSessionOptions,
    private readonly events: RpcSessionEvents,
  ) {
    this.splitter = new JsonSplitter(options.maxMessageBytes);
    stream.on("data", (data: Buffer | string) => this.onData(typeof data === "string" ? Buffer.from(data) : data));
    stream.on("error", (e: Error) =>
      this.close(new OvsdbError("CLOSED", `connection failed: ${e.message}`, { cause: e })),
    );
    stream.on("close", () => this.close(new OvsdbError("CLOSED", "the server closed the connection")));
    stream.on("end", () => this.close(new OvsdbError("CLOSED", "the server closed the connection")));
    if (options.echoIntervalMs > 0) {
      this.echoTimer = setInterval(() => {
        this.call("echo", [], options.echoIntervalMs).catch((e: OvsdbError) => {
          if (e.code === "TIMEOUT") this.close(new OvsdbError("TIMEOUT", "the server stopped answering echo"));
        });
      }, options.echoIntervalMs);
      this.echoTimer.unref();
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  call(method: string, params: unknown[], timeoutMs = this.options.callTimeoutMs): Promise<unknown> {
    if (this.isClosed) return Promise.reject(new OvsdbError("CLOSED", `cannot ${method}: the connection is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new OvsdbError("TIMEOUT", `no answer to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.send({ method, params, id });
    });
  }

  close(error?: OvsdbError): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.echoTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error ?? new OvsdbError("CLOSED", `${p.method} abandoned: the connection was closed`));
    }
    this.pending.clear();
    this.stream.destroy();
    this.events.closed(error);
  }

  private send(message: unknown): void {
    this.stream.write(JSON.stringify(message));
  }

  private onData(data: Buffer): void {
    if (this.isClosed) return;
    try {
      for (const text of this.splitter.push(data)) {
        let message: unknown;
        try {
          message = JSON.parse(text);
        } catch {
          throw new OvsdbError("MALFORMED_MESSAGE", "the server sent a message that is not JSON");
        }
        this.dispatch(message);
        if (this.isClosed) return;
      }
    } catch (e) {
      this.close(
        e instanceof OvsdbError ? e : new OvsdbError("MALFORMED_MESSAGE", `bad message: ${String(e)}`, { cause: e }),
      );
    }
  }

  private dispatch(message: unknown): void {
    if (!isObject(message)) throw new OvsdbError("MALFORMED_MESSAGE", "a message is not a JSON object");
    if ("method" in message) {
      const { method, params, id } = message;
      if (typeof method !== "string" || !Array.isArray(params)) {
        throw new OvsdbError("MALFORMED_MESSAGE", "a request without a method name or params array");
      }
      if (id === null || id === undefined) this.events.notification(method, params);
      else if (method === "echo") this.send({ result: params, error: null, id });
      else this.send({ result: null, error: "unknown method", id });
      return;
    }
    const { id, result, error } = message;
    const pending = typeof id === "number" ? this.pending.get(id) : undefined;
    if (!pending) {
      // An answer to a call that already timed out is late, not hostile; any other id is.
      if (typeof id === "number" && Number.isInteger(id) && id > 0 && id < this.nextId) return;
      throw new OvsdbError("MALFORMED_MESSAGE", `an answer to a request never sent (id ${JSON.stringify(id)})`);
    }
    this.pending.delete(id as number);
    clearTimeout(pending.timer);
    if (error !== null && error !== undefined) {
      const e = isObject(error) ? error : { error };
      const details = typeof e.details === "string" ? e.details : undefined;
      pending.reject(new OvsdbServerError(pending.method, serverErrorText(e.error ?? error), details));
    } else if (!("result" in message)) {
      pending.reject(new OvsdbError("MALFORMED_MESSAGE", `the answer to ${pending.method} has no result`));
      throw new OvsdbError("MALFORMED_MESSAGE", `the answer to ${pending.method} has no result`);
    } else pending.resolve(result);
  }
}
