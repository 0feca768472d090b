/**
 * A small typed client of the HTTP API on Node's fetch: sends the bearer token, turns the
 * error model `{ error: { code, message, details } }` into ApiError and a failed connection
 * into UnreachableError naming the URL.
 */
import { ApiError, UnreachableError } from "./errors.js";

/** Longest wait for one answer: above the gateway's largest SDN_COMMAND_WAIT_MS (120 s). */
const REQUEST_TIMEOUT_MS = 130_000;
const RETRY_DELAYS_MS = [250, 1000];

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Retry when the connection fails. Safe for reads, and for a mutation only when it
   * carries an Idempotency-Key (the retry then returns the first result).
   */
  retry?: boolean;
  /** Error statuses whose body is an answer, not the error model (503 from /readyz). */
  answerStatuses?: number[];
}

export interface ApiClientOptions {
  userAgent: string;
  /** Told about each retry, for the user's stderr. */
  notice?: (message: string) => void;
}

export class ApiClient {
  constructor(
    readonly baseUrl: URL,
    private readonly token: string | undefined,
    private readonly options: ApiClientOptions,
  ) {}

  /** The absolute URL of an API path; a base URL with a path prefix keeps it. */
  urlOf(path: string): string {
    return `${this.baseUrl.origin}${this.baseUrl.pathname.replace(/\/+$/, "")}${path}`;
  }

  async get<T>(path: string): Promise<T> {
    return (await this.request<T>("GET", path, { retry: true })).body;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const res = await this.fetchWithRetry(method, path, options);
    const body = await readBody(res);
    if (!res.ok && options.answerStatuses?.includes(res.status) !== true) throw toApiError(res, body);
    return { status: res.status, body: body as T, headers: res.headers };
  }

  /** Opens a server-sent event stream; the caller reads and cancels the body. */
  async stream(path: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const url = this.urlOf(path);
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers({ accept: "text/event-stream" }), signal });
    } catch (err) {
      throw new UnreachableError(url, err);
    }
    if (!res.ok) throw toApiError(res, await readBody(res));
    if (res.body === null) throw new ApiError(res.status, "HTTP_NO_BODY", `GET ${path} answered without a body`);
    return res.body;
  }

  private async fetchWithRetry(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = this.urlOf(path);
    const init: RequestInit = {
      method,
      headers: this.headers({
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers,
      }),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    };
    const delays = options.retry === true ? RETRY_DELAYS_MS : [];
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      } catch (err) {
        const delay = delays[attempt];
        if (delay === undefined) throw new UnreachableError(url, err, retryHint(options));
        this.options.notice?.(`${new UnreachableError(url, err).message}; retrying in ${delay / 1000} s`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return {
      accept: "application/json",
      "user-agent": this.options.userAgent,
      ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
      ...extra,
    };
  }
}

/** After a failed mutation, the key to retry it with so that it does not run twice. */
const retryHint = (options: RequestOptions): string | undefined => {
  const key = options.headers?.["idempotency-key"];
  return key === undefined ? undefined : `to retry safely, run the same command with --idempotency-key ${key}`;
};

const readBody = async (res: Response): Promise<unknown> => {
  if (res.status === 204) return undefined;
  const text = await res.text();
  if (!(res.headers.get("content-type") ?? "").includes("json")) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

const toApiError = (res: Response, body: unknown): ApiError => {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (typeof error?.code === "string" && typeof error.message === "string") {
    return new ApiError(res.status, error.code, error.message, error.details);
  }
  // Not the API's error model (a proxy in between?): say what came back.
  const snippet = typeof body === "string" && body.trim() !== "" ? `: ${body.trim().slice(0, 200)}` : "";
  return new ApiError(res.status, `HTTP_${res.status}`, `${res.status} ${res.statusText}${snippet}`);
};
