/**
 * Follows an async job to its end. The event stream says when the job's answer is
 * published (`event: answer` with the job's commandId), so the job is read again at once;
 * polling `GET /v1/jobs/{id}` is the fallback: slow while the stream is up (in case an
 * event is missed), fast when the stream cannot be used. A mutation with --wait opens the
 * watcher before it sends, so that no event of its job is missed.
 */
import type { Job } from "@sdn/contracts";
import type { ApiClient } from "./api-client.js";
import { StillPendingError } from "./errors.js";
import { eventData, openEventStream, type ServerEvent } from "./event-stream.js";

const POLL_WITH_EVENTS_MS = 5000;
const POLL_WITHOUT_EVENTS_MS = 1000;
/** Events kept while the job id is not known yet (the request is in flight). */
const EARLY_EVENTS_KEPT = 1000;

export interface WatchOptions {
  /** false: poll only (for proxies that buffer server-sent events). */
  useEvents: boolean;
  /** Progress lines for stderr. */
  progress: (line: string) => void;
}

export const jobPath = (jobId: string) => `/v1/jobs/${encodeURIComponent(jobId)}`;

export class JobWatcher {
  private readonly abort = new AbortController();
  private readonly wakeUp = new Wakeup();
  private readonly early: ServerEvent[] = [];
  private eventsUp = false;
  /** Why the event stream is not used, told when following starts (not before: the request may fail). */
  private streamProblem: string | undefined;
  private jobId: string | undefined;

  private constructor(
    private readonly client: ApiClient,
    private readonly progress: (line: string) => void,
  ) {}

  /** Connects to the event stream (unless told not to); resolves once connected or given up. */
  static async open(client: ApiClient, options: WatchOptions): Promise<JobWatcher> {
    const watcher = new JobWatcher(client, options.progress);
    if (options.useEvents) await new Promise<void>((connected) => void watcher.watch(connected));
    return watcher;
  }

  /** Reads the job until it is no longer pending, or throws StillPendingError at the deadline. */
  async follow(jobId: string, timeoutSeconds: number): Promise<Job> {
    const started = Date.now();
    const deadline = started + timeoutSeconds * 1000;
    this.jobId = jobId;
    this.progress(`waiting for job ${jobId}${this.eventsUp ? "" : " (polling)"}...`);
    if (this.streamProblem !== undefined) this.progress(this.streamProblem);
    for (const e of this.early.splice(0)) this.route(e);
    for (;;) {
      const job = await this.client.get<Job>(jobPath(jobId));
      if (job.status !== "pending") {
        this.progress(`job ${jobId} ${job.status} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return job;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new StillPendingError(jobId, timeoutSeconds);
      await this.wakeUp.wait(Math.min(left, this.eventsUp ? POLL_WITH_EVENTS_MS : POLL_WITHOUT_EVENTS_MS));
    }
  }

  close(): void {
    this.abort.abort();
  }

  private async watch(connected: () => void): Promise<void> {
    try {
      const events = await openEventStream(this.client, this.abort.signal);
      this.eventsUp = true;
      connected();
      for await (const e of events) {
        if (this.jobId !== undefined) this.route(e);
        else if (this.early.push(e) > EARLY_EVENTS_KEPT) this.early.shift();
      }
      throw new Error("the server closed it");
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.eventsUp = false;
      const problem = `  event stream unavailable (${(err as Error).message}); polling`;
      if (this.jobId === undefined) this.streamProblem = problem;
      else this.progress(problem);
      connected();
    }
  }

  /** The job's answer wakes the reader; the domain events it caused are progress. */
  private route(e: ServerEvent): void {
    if (e.event === "answer") {
      if (e.id === this.jobId) this.wakeUp.fire();
    } else if (eventData(e)?.commandId === this.jobId) {
      this.progress(`  ${e.event}`);
    }
  }
}

/** Follows a job that already exists (`jobs wait`). */
export const followJob = async (
  client: ApiClient,
  jobId: string,
  options: WatchOptions & { timeoutSeconds: number },
): Promise<Job> => {
  const watcher = await JobWatcher.open(client, options);
  try {
    return await watcher.follow(jobId, options.timeoutSeconds);
  } finally {
    watcher.close();
  }
};

/** A wake-up that is not lost when it fires while nobody waits (e.g. during a GET). */
class Wakeup {
  private fired = false;
  private resolve: (() => void) | undefined;

  fire(): void {
    this.fired = true;
    this.resolve?.();
  }

  async wait(ms: number): Promise<void> {
    if (!this.fired) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.resolve = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.fired = false;
    this.resolve = undefined;
  }
}
