import { Option } from "@commander-js/extra-typings";
import { UnreachableError } from "../errors.js";
import { eventData, openEventStream, type ServerEvent } from "../event-stream.js";
import { positiveInteger } from "../parsers.js";
import { examples, type CommandModule } from "./registry.js";

const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** One readable line: the time, what happened, where, and its data or outcome. */
const describe = (e: ServerEvent): string => {
  const data = eventData(e);
  if (e.event === "answer") {
    const error = data?.error as { code?: unknown; message?: unknown } | undefined;
    const outcome =
      data?.ok === true ? `ok: ${text(data.details)}` : `failed: ${text(error?.code)}: ${text(error?.message)}`;
    return `${new Date().toISOString()}  answer  ${e.id ?? "-"}  ${outcome}`;
  }
  const when = typeof data?.occurredAt === "string" ? data.occurredAt : new Date().toISOString();
  const from = typeof data?.service === "string" ? data.service : "-";
  return `${when}  ${e.event}  ${from}  ${JSON.stringify(data?.data ?? e.data)}`;
};

/** `sdnctl events`: follows /v1/events (domain events and answers) until Ctrl-C. */
export const eventsCommands: CommandModule = (program, deps) => {
  program
    .command("events")
    .description("follow the account's events and command answers as they happen (admins see all)")
    .addOption(new Option("--count <n>", "stop after n events").argParser(positiveInteger))
    .addHelpText(
      "after",
      `\nWith --json each line is one JSON object: {"event": "<type or answer>", "id": "...", "data": {...}}.\n` +
        examples("sdnctl events", "sdnctl events --json | jq 'select(.event == \"answer\")'"),
    )
    .action(async (opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const abort = new AbortController();
      const events = await openEventStream(client, abort.signal);
      out.notice(`following ${client.urlOf("/v1/events")} (Ctrl-C to stop)`);
      let seen = 0;
      try {
        for await (const e of events) {
          if (out.json) out.printJsonLine({ event: e.event, id: e.id, data: eventData(e) ?? e.data });
          else out.line(describe(e));
          if (opts.count !== undefined && ++seen >= opts.count) return;
        }
      } finally {
        abort.abort();
      }
      throw new UnreachableError(client.urlOf("/v1/events"), new Error("the server closed the event stream"));
    });
};
