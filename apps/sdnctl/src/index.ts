export { buildProgram, run } from "./cli.js";
export { EXIT, ApiError, UsageError, UnreachableError, StillPendingError, CliError } from "./errors.js";
export type { CliIo, OutStream } from "./io.js";
export { COMMAND_MODULES } from "./commands/index.js";
export { examples, type CommandDeps, type CommandModule } from "./commands/registry.js";
export { runMutation, withMutationOptions, type MutationFlags } from "./mutation.js";
export type { Session } from "./session.js";
