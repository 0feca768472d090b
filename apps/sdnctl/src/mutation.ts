/**
 * Mutating commands that the API may answer with 202 and a job: the `--wait`,
 * `--timeout`, `--no-events` and `--idempotency-key` options and the flow behind them.
 */
import { Option, type Command, type OptionValues } from "@commander-js/extra-typings";
import { ERROR_CODES, type Job } from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import { ApiError } from "./errors.js";
import { JobWatcher } from "./job-follower.js";
import { positiveSeconds } from "./parsers.js";
import type { Session } from "./session.js";

/** Options of following a job: shared by mutations and `jobs wait`. */
export const followOptions = () =>
  [
    new Option("--timeout <seconds>", "how long to wait for the job").argParser(positiveSeconds).default(300),
    new Option("--no-events", "poll the job instead of following the event stream (for proxies that buffer it)"),
  ] as const;

/** Adds --wait, --timeout, --no-events and --idempotency-key to a mutating command. */
export const withMutationOptions = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) => {
  const [timeout, noEvents] = followOptions();
  return cmd
    .addOption(new Option("--wait", "if the API answers with a job (202), follow it to its end"))
    .addOption(timeout)
    .addOption(noEvents)
    .addOption(
      new Option(
        "--idempotency-key <key>",
        "Idempotency-Key header; a retry with the same key returns the first result (default: a new key per run)",
      ),
    );
};

/** The body of a 202 (schema JobAccepted in @sdn/contracts). */
interface JobAccepted {
  jobId: string;
  status: "pending";
}

export interface MutationFlags {
  wait?: boolean;
  timeout: number;
  events: boolean;
  idempotencyKey?: string;
}

export interface MutationRequest {
  method: "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
}

/**
 * Sends a mutation and shows its result. A 202 prints the job (or, with --wait, follows
 * it and shows its result); a failed job becomes the ApiError it carries. The request is
 * retried on connection failure with the same Idempotency-Key, so it never runs twice.
 */
export const runMutation = async <T>(
  s: Session,
  request: MutationRequest,
  flags: MutationFlags,
  show: (result: T) => void,
  /** What to say when the API answers without a body (204). */
  done = "done",
): Promise<void> => {
  const key = flags.idempotencyKey ?? randomUUID();
  const watcher =
    flags.wait === true
      ? await JobWatcher.open(s.client, { useEvents: flags.events, progress: (line) => s.out.notice(line) })
      : undefined;
  try {
    const res = await s.client.request<T | JobAccepted>(request.method, request.path, {
      ...(request.body === undefined ? {} : { body: request.body }),
      headers: { "idempotency-key": key },
      retry: true,
    });
    if (res.status !== 202) return showResult(s, res.body as T, show, done);
    const accepted = res.body as JobAccepted;
    if (watcher === undefined) {
      s.out.result(accepted, (a) =>
        s.out.record([
          ["job", a.jobId],
          ["status", a.status],
        ]),
      );
      s.out.notice(`still running; follow it with: sdnctl jobs wait ${accepted.jobId}`);
      return;
    }
    const job = await watcher.follow(accepted.jobId, flags.timeout);
    if (job.status === "failed") throw jobError(job);
    showResult(s, job.result as T, show, done);
  } finally {
    watcher?.close();
  }
};

/** A failed job's error, classed by the HTTP status its code maps to. */
export const jobError = (job: Job): ApiError => {
  const error = job.error ?? { code: "INTERNAL" as const, message: `job ${job.id} failed without an error` };
  const status = ERROR_CODES[error.code] ?? 500;
  return new ApiError(status, error.code, error.message, error.details);
};

const showResult = <T>(s: Session, result: T, show: (result: T) => void, done: string): void => {
  if (result === undefined) s.out.notice(done);
  else s.out.result(result, show);
};
