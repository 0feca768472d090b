import { defaultConfigPath, parseApiUrl, writeConfigFile } from "../config.js";
import { UsageError } from "../errors.js";
import type { GlobalOptions } from "../session.js";
import { examples, type CommandModule } from "./registry.js";

/** `sdnctl login`: writes the config file (mode 0600) so later commands need no flags. */
export const loginCommands: CommandModule = (program, deps) => {
  program
    .command("login")
    .description("save the API URL and token in the config file (mode 0600)")
    .option("--token-stdin", "read the token from stdin, so that it stays out of the shell history")
    .addHelpText(
      "after",
      "\nTakes the global --url and --token (or --token-stdin). Writes --config PATH, else\n" +
        "$XDG_CONFIG_HOME/sdnctl/config.json or ~/.config/sdnctl/config.json.\n" +
        examples(
          "sdnctl login --url http://127.0.0.1:8080 --token-stdin < .data/admin-token",
          "sdnctl login --url https://sdn.example.org --token sdn_...",
        ),
    )
    .action(async (opts, cmd) => {
      const globals = cmd.optsWithGlobals() as GlobalOptions;
      if (globals.url === undefined) throw new UsageError("login needs --url, e.g. --url http://127.0.0.1:8080");
      if (opts.tokenStdin === true && globals.token !== undefined) {
        throw new UsageError("give the token with --token or --token-stdin, not both");
      }
      const token = opts.tokenStdin === true ? (await deps.io.readStdin()).trim() : globals.token;
      if (token === undefined || token === "") throw new UsageError("login needs --token TOKEN or --token-stdin");
      const url = parseApiUrl(globals.url, "--url");
      const path = globals.config ?? defaultConfigPath(deps.io.env);
      await writeConfigFile(path, { url: url.href.replace(/\/$/, ""), token });
      deps.io.stderr.write(`wrote ${path} (mode 0600)\n`);
    });
};
