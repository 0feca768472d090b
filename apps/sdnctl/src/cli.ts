/**
 * The sdnctl program: global options, the command modules, and the mapping of every
 * failure to a message on stderr and an exit code. `run` does not touch `process`, so
 * tests call it in-process; main.ts wires it to the real process.
 */
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { COMMAND_MODULES } from "./commands/index.js";
import { commandDeps, type CommandModule } from "./commands/registry.js";
import { ApiError, CliError, EXIT } from "./errors.js";
import type { CliIo } from "./io.js";
import { FORMATS, useColour } from "./output.js";
import { VERSION } from "./version.js";

export const buildProgram = (io: CliIo, modules: readonly CommandModule[]) => {
  const program = new Command()
    .name("sdnctl")
    .description("Command line of the GRE SDN controller's HTTP API")
    .version(VERSION)
    .option("--url <url>", "API base URL (env SDN_URL, or the config file)")
    .option("--token <token>", "bearer token (env SDN_TOKEN, or the config file); visible to other local users")
    .option("--config <path>", "config file (default: ~/.config/sdnctl/config.json, mode 0600)")
    .addOption(
      new Option("-f, --format <format>", "output: table (default), value, json or yaml (the API's document)").choices(
        FORMATS,
      ),
    )
    .option(
      "-c, --column <column>",
      "show only this column (repeatable; json/yaml: this field)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option("--json", "the same as --format json")
    // Set before adding commands: subcommands inherit both.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      getOutHasColors: () => useColour(io.stdout, io.env),
      getErrHasColors: () => useColour(io.stderr, io.env),
    })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 internal error, 2 usage or configuration, 3 refused by the API (4xx),\n" +
        "4 API unreachable or failing (5xx), 5 --wait timed out with the job still pending.\n",
    );
  const deps = commandDeps(io);
  for (const register of modules) register(program, deps);
  return program;
};

/** Runs sdnctl with `argv` (without node and script) and returns the exit code. */
export const run = async (
  argv: readonly string[],
  io: CliIo,
  modules: readonly CommandModule[] = COMMAND_MODULES,
): Promise<number> => {
  const program = buildProgram(io, modules);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.ok;
  } catch (err) {
    return report(err, io);
  }
};

const report = (err: unknown, io: CliIo): number => {
  if (err instanceof CommanderError) {
    // Commander has printed the message (or the help) already.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof CliError) {
    const head = err instanceof ApiError ? `${err.code}: ${err.message}` : `error: ${err.message}`;
    io.stderr.write([head, ...err.detailLines()].map((l) => `${l}\n`).join(""));
    return err.exitCode;
  }
  io.stderr.write(
    `sdnctl failed unexpectedly (a bug): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return EXIT.internal;
};
