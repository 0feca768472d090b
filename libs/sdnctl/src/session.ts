/**
 * What a command needs to talk to the API: the client, built from the global options,
 * the environment and the config file, and the output.
 */
import { ApiClient } from "./api-client.js";
import { resolveSettings } from "./config.js";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";
import { Output } from "./output.js";
import { VERSION } from "./version.js";

/** Options every command takes (declared on the program). */
export interface GlobalOptions {
  url?: string;
  token?: string;
  config?: string;
  json?: boolean;
}

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
  const out = new Output(io, globals.json === true);
  const client = new ApiClient(settings.url, settings.token, {
    userAgent: `sdnctl/${VERSION}`,
    notice: (message) => out.notice(message),
  });
  return { client, out, io };
};
