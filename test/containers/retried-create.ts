import { randomUUID } from "node:crypto";
import type { ApiResponse } from "./api.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How one gateway's API is called: method, path, body, extra headers. */
export type Api = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<ApiResponse>;

/** What a create that was retried until it got through went through. */
export interface RetriedCreate {
  name: string;
  /** What the gateway answered, in order: `201`, `503`, `202`, then its job reads (`job pending`, `job 503`…). */
  trail: string[];
  /** When the network was known to exist: a 201, or the 202's job read back succeeded. */
  doneAt: number;
  network: Record<string, unknown>;
}

/**
 * Creates a network as a careful client does: one Idempotency-Key for all its tries, a
 * 503 ("retry shortly") tried again after `pauseMs`, a 202 followed to its job's end (a
 * 503 on the job read is retried too). Any other answer ends it with an error naming the
 * trail, so a 500, a failed job or a lost create is a failure, not a retry.
 */
export const createRetried = async (
  api: Api,
  body: { name: string; cidr: string; accountId: string },
  deadline: number,
  pauseMs = 250,
): Promise<RetriedCreate> => {
  const headers = { "idempotency-key": randomUUID() };
  const trail: string[] = [];
  let jobId: string;
  const fail = (what: string) => new Error(`create ${body.name}: ${what}; answers ${trail.join(", ")}`);
  for (;;) {
    if (Date.now() > deadline) throw fail("no success before the deadline");
    const res = await api("POST", "/v1/networks", body, headers);
    trail.push(String(res.status));
    if (res.status === 201) return { name: body.name, trail, doneAt: Date.now(), network: res.body };
    if (res.status === 202) {
      jobId = String(res.body["jobId"]);
      break;
    }
    if (res.status !== 503) throw fail(`answered ${res.status} ${JSON.stringify(res.body)}`);
    await sleep(pauseMs);
  }
  // Accepted: the job (its id is the command's) must end succeeded.
  for (;;) {
    if (Date.now() > deadline) throw fail(`job ${jobId} unfinished at the deadline`);
    const res = await api("GET", `/v1/jobs/${jobId}`);
    const status = res.status === 200 ? String(res.body["status"]) : String(res.status);
    trail.push(`job ${status}`);
    if (status === "succeeded") {
      return { name: body.name, trail, doneAt: Date.now(), network: res.body["result"] as Record<string, unknown> };
    }
    if (status !== "pending" && status !== "503") throw fail(`job ${jobId}: ${JSON.stringify(res.body)}`);
    await sleep(pauseMs);
  }
};
