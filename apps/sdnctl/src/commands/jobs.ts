import type { Job } from "@sdn/contracts";
import { followJob, jobPath } from "../job-follower.js";
import { followOptions, jobError } from "../mutation.js";
import type { Output } from "../output.js";
import { examples, type CommandModule } from "./registry.js";

const showJob = (out: Output, j: Job) =>
  out.record([
    ["id", j.id],
    ["command", j.command],
    ["status", j.status],
    ["created", j.createdAt],
    ["completed", j.completedAt],
    ["result", j.result],
    ["error", j.error === undefined ? undefined : `${j.error.code}: ${j.error.message}`],
  ]);

/** `sdnctl jobs get|wait`: calls that outlived the API's wait time (202 answers). */
export const jobsCommands: CommandModule = (program, deps) => {
  const jobs = program.command("jobs").description("async jobs of mutating calls that answered 202");

  jobs
    .command("get")
    .description("show a job: pending, succeeded (with its result) or failed (with its error)")
    .argument("<id>", "job id (from a 202 answer)")
    .action(async (id, _opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const job = await client.get<Job>(jobPath(id));
      out.result(job, (j) => showJob(out, j));
    });

  const [timeout, noEvents] = followOptions();
  jobs
    .command("wait")
    .description("wait for a job to end, following the event stream; exits non-zero if it failed")
    .argument("<id>", "job id (from a 202 answer)")
    .addOption(timeout)
    .addOption(noEvents)
    .addHelpText("after", examples("sdnctl jobs wait 0b7e...", "sdnctl jobs wait 0b7e... --timeout 60 --json"))
    .action(async (id, opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const job = await followJob(client, id, {
        timeoutSeconds: opts.timeout,
        useEvents: opts.events,
        progress: (line) => out.notice(line),
      });
      out.result(job, (j) => showJob(out, j));
      if (job.status === "failed") throw jobError(job);
    });
};
