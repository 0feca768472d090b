import { metrics } from "@sdn/bus";
import type { PushOutcome } from "./pusher.js";

const pushes = metrics.counter(
  "sdn_router_pushes_total",
  "Whole-configuration pushes to virtual routers, by outcome (applied, refused, unreachable, error)",
  ["outcome"],
);
const pushSeconds = metrics.histogram(
  "sdn_router_push_duration_seconds",
  "Time of one push to a router (deploy if needed, then apply), by outcome",
  ["outcome"],
);

/** Runs one push and counts it; "error" is a failure that was not the router's (a bug, NATS away). */
export const measurePush = async (push: () => Promise<PushOutcome>): Promise<PushOutcome> => {
  const done = pushSeconds.startTimer();
  let outcome = "error";
  try {
    const result = await push();
    outcome = result.status;
    return result;
  } finally {
    pushes.inc({ outcome });
    done({ outcome });
  }
};
