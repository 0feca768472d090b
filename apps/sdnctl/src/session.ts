/**
 * What a command needs to talk to the API: the client, built from the global options,
 * the environment and the config file, and the output.
 */
import { ApiClient } from "./api-client.js";
import { resolveSettings } from "./config.js";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";
import { Output, type Format } from "./output.js";
import { VERSION } from "./version.js";

/** Options every command takes (declared on the program). */
export interface GlobalOptions {
  url?: string;
  token?: string;
  config?: string;
  format?: Format;
  column?: string[];
  json?: boolean;
}

/** The output the global options ask for; `--json` is `--format json`. */
export const outputFor = (io: CliIo, globals: GlobalOptions): Output => {
  if (globals.json === true && globals.format !== undefined && globals.format !== "json") {
    throw new UsageError(`--json and --format ${globals.format} ask for different outputs; give one`);
  }
  return new Output(io, globals.json === true ? "json" : (globals.format ?? "table"), globals.column ?? []);
};

export interface Session {
  client: ApiClient;
  out: Output;
  io: CliIo;
}

export const LOGIN_HINT =
  "set SDN_URL and SDN_TOKEN, pass --url and --token, or run: sdnctl login --url URL --token TOKEN";

/** A session for one command; `token: false` for the public routes (health). */
export const openSession = async (
  io: CliIo,
  globals: GlobalOptions,
  needs: { token: boolean } = { token: true },
): Promise<Session> => {
  const settings = await resolveSettings(globals, io.env);
  if (settings.url === undefined) throw new UsageError(`no API URL: ${LOGIN_HINT}`);
  if (needs.token && settings.token === undefined) throw new UsageError(`no API token: ${LOGIN_HINT}`);
  const out = outputFor(io, globals);
  const client = new ApiClient(settings.url, settings.token, {
    userAgent: `sdnctl/${VERSION}`,
    notice: (message) => out.notice(message),
  });
  return { client, out, io };
};
