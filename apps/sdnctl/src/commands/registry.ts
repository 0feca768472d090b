/**
 * Command groups are modules: one file per resource, each a function that adds its group
 * to the program. The list in ./index.ts is the whole command tree.
 */
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { CliIo } from "../io.js";
import type { Session } from "../session.js";
import { openSession } from "../session.js";

export interface CommandDeps {
  io: CliIo;
  /** The session of an action: URL, token and output from the global options of `cmd`. */
  session(cmd: CommandUnknownOpts, needs?: { token: boolean }): Promise<Session>;
}

export type CommandModule = (program: CommandUnknownOpts, deps: CommandDeps) => void;

export const commandDeps = (io: CliIo): CommandDeps => ({
  io,
  session: (cmd, needs) => openSession(io, cmd.optsWithGlobals(), needs),
});

/** Prefixes `lines` with "Examples:" for `addHelpText("after", ...)`. */
export const examples = (...lines: string[]): string => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
