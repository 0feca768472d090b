import { Argument, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { examples, type CommandModule } from "./registry.js";

/** Each command path (" networks get") with the words that may follow it: subcommands and options. */
const wordTable = (cmd: CommandUnknownOpts, path = "", inherited: string[] = []): [string, string[]][] => {
  const options = [...inherited, ...cmd.options.flatMap((o) => [o.short, o.long]).filter((f) => f !== undefined)];
  const subs = cmd.commands.filter((c) => c.name() !== "help");
  return [
    [path, [...subs.map((c) => c.name()), ...options, "--help"]],
    ...subs.flatMap((c) => wordTable(c, `${path} ${c.name()}`, options)),
  ];
};

/** A bash completion function from the command tree: it follows the words typed so far down the tree. */
export const bashCompletion = (program: CommandUnknownOpts): string => {
  const cases = wordTable(program)
    .map(([path, words]) => `    "${path}") echo "${words.join(" ")}" ;;`)
    .join("\n");
  return `# sdnctl completion for bash: source <(sdnctl completion bash)
_sdnctl_words() {
  case "$1" in
${cases}
  esac
}
_sdnctl() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case "$w" in -*) continue ;; esac
    case " $(_sdnctl_words "$path") " in *" $w "*) path="$path $w" ;; esac
  done
  COMPREPLY=($(compgen -W "$(_sdnctl_words "$path")" -- "$cur"))
}
complete -F _sdnctl sdnctl
`;
};

/** `sdnctl completion bash|zsh`: a completion script for the shell (zsh runs the bash one through bashcompinit). */
export const completionCommands: CommandModule = (program, deps) => {
  program
    .command("completion")
    .description("print a shell completion script")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"] as const))
    .addHelpText("after", examples("source <(sdnctl completion bash)", 'sdnctl completion zsh > "${fpath[1]}/_sdnctl"'))
    .action((shell) => {
      const bash = bashCompletion(program);
      deps.io.stdout.write(
        shell === "bash" ? bash : `#compdef sdnctl\nautoload -U +X bashcompinit && bashcompinit\n${bash}`,
      );
    });
};
