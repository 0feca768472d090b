/**
 * What went wrong, as typed errors, and the exit code each class of failure gets. Scripts
 * branch on the exit code; people read the message on stderr.
 */

/** Exit codes of sdnctl (documented in the README). */
export const EXIT = {
  ok: 0,
  /** A bug or an unexpected failure in sdnctl itself. */
  internal: 1,
  /** Bad arguments or configuration (unknown flag, no URL or token, an unsafe config file). */
  usage: 2,
  /** The API refused the request (HTTP 4xx, or a job that failed with such an error). */
  refused: 3,
  /** The API is unreachable or failing (network error, HTTP 5xx: 500, 503, 504). */
  unavailable: 4,
  /** `--wait` gave up while the job was still pending; it may still complete. */
  stillPending: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure to report: its message for stderr and its exit code. */
export abstract class CliError extends Error {
  abstract readonly exitCode: ExitCode;
  /** Lines to print under the message (failing fields, hints). */
  detailLines(): string[] {
    return [];
  }
}

/** Bad arguments or configuration; nothing was sent. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  readonly exitCode = EXIT.usage;
}

export interface ValidationIssue {
  path: string;
  message: string;
}

/** The API's error model `{ error: { code, message, details } }`, with the HTTP status. */
export class ApiError extends CliError {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  get exitCode(): ExitCode {
    return this.status >= 500 ? EXIT.unavailable : EXIT.refused;
  }

  /** The failing fields of a VALIDATION_FAILED answer, from `details.issues`. */
  get issues(): ValidationIssue[] {
    const issues = (this.details as { issues?: unknown } | undefined)?.issues;
    if (!Array.isArray(issues)) return [];
    return issues.filter(
      (i): i is ValidationIssue =>
        typeof (i as ValidationIssue).path === "string" && typeof (i as ValidationIssue).message === "string",
    );
  }

  /** Why a router-side operation failed: `details.reason` (UNREACHABLE, ...) and the router's own code. */
  private reasonLines(): string[] {
    const details = this.details as { reason?: unknown; routerCode?: unknown } | undefined;
    return [
      ...(typeof details?.reason === "string" ? [`  reason: ${details.reason}`] : []),
      ...(typeof details?.routerCode === "string" ? [`  router code: ${details.routerCode}`] : []),
    ];
  }

  override detailLines(): string[] {
    return [...this.reasonLines(), ...this.issues.map((i) => `  ${i.path}: ${i.message}`)];
  }
}

/** The API could not be reached at all. */
export class UnreachableError extends CliError {
  override readonly name = "UnreachableError";
  readonly exitCode = EXIT.unavailable;
  constructor(
    readonly url: string,
    cause: unknown,
    private readonly hint?: string,
  ) {
    super(`cannot reach the API at ${url}: ${describeNetworkError(cause)}`, { cause });
  }

  override detailLines(): string[] {
    return this.hint === undefined ? [] : [`  ${this.hint}`];
  }
}

/** `--wait` ran out of time; the job goes on without us. */
export class StillPendingError extends CliError {
  override readonly name = "StillPendingError";
  readonly exitCode = EXIT.stillPending;
  constructor(
    readonly jobId: string,
    timeoutSeconds: number,
  ) {
    super(`job ${jobId} is still pending after ${timeoutSeconds} s`);
  }

  override detailLines(): string[] {
    return [`  it may still complete; follow it with: sdnctl jobs wait ${this.jobId}`];
  }
}

/** fetch() wraps the socket error in `cause`; that is the part a person can act on. */
const describeNetworkError = (err: unknown): string => {
  if (err instanceof Error && err.name === "TimeoutError") return "no answer in time";
  const cause = err instanceof Error ? err.cause : undefined;
  // A host with several addresses fails with an AggregateError: empty message, a code.
  if (cause instanceof Error) return cause.message || ((cause as NodeJS.ErrnoException).code ?? cause.name);
  return err instanceof Error ? err.message : String(err);
};
