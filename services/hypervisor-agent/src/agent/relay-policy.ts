import {
  CommandError,
  RELAY_KEY_NAME,
  ROUTER_DEPLOY_SCRIPT,
  ROUTER_PROGRAM_COMMANDS,
  ROUTER_PROGRAM_FILES,
  ROUTER_PROGRAM_NAME,
  type RelayToRouter,
  type RequestOf,
} from "@sdn/contracts";
import { isIPv4 } from "node:net";
import { posix } from "node:path";

type RelayRequest = RequestOf<typeof RelayToRouter>;

/** An absolute path of plain segments: no `..`, `.` or empty segment can walk elsewhere. */
const isCleanPath = (p: string): boolean =>
  /^(\/[A-Za-z0-9_.-]+)+$/.test(p) && !p.split("/").some((seg) => seg === "." || seg === "..");

const isProgramPath = (p: string): boolean => isCleanPath(p) && p.endsWith(`/${ROUTER_PROGRAM_NAME}`);

const isLinkLocal = (address: string): boolean => isIPv4(address) && address.startsWith("169.254.");

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The only commands a relay runs on a router: the router program's own (version, state,
 * apply), creating its directory, and deploying its files (ROUTER_DEPLOY_SCRIPT). Anything else
 * would make the relay a root shell on every router for whoever may call it.
 */
const isRouterProgramCommand = (argv: readonly string[]): boolean => {
  const [first = "", second = ""] = argv;
  if (argv.length === 2 && isProgramPath(first)) return (ROUTER_PROGRAM_COMMANDS as readonly string[]).includes(second);
  if (argv.length === 3 && first === "mkdir" && second === "-p") return isCleanPath(argv[2] ?? "");
  // Deploying one of the program's files, with its own mode, into a clean folder.
  const target = argv[4] ?? "";
  const mode = isCleanPath(target) ? ROUTER_PROGRAM_FILES[posix.basename(target)] : undefined;
  return argv.length === 6 && mode !== undefined && same(argv, ["sh", "-c", ROUTER_DEPLOY_SCRIPT, "sh", target, mode]);
};

const refuse = (reason: string, message: string) => new CommandError("FORBIDDEN", message, { reason });

/**
 * Checks a RelayToRouter before anything reaches the host (the host program checks again)
 * and answers the request to run: with the agent's own relay key, whatever the caller named.
 */
export const checkRelayRequest = (req: RelayRequest, relayKeyFile: string): RelayRequest => {
  if (!isLinkLocal(req.address)) {
    throw refuse(
      "RELAY_ADDRESS_NOT_LINK_LOCAL",
      `the relay reaches routers on their link-local control address (169.254.0.0/16) only, not ${req.address}`,
    );
  }
  if (req.identityFile !== undefined && req.identityFile !== relayKeyFile) {
    throw refuse(
      "RELAY_KEY_NOT_ALLOWED",
      `the relay uses the agent's configured relay key (SDN_AGENT_RELAY_KEY_FILE) only, not ${req.identityFile}`,
    );
  }
  if (!isRouterProgramCommand(req.argv)) {
    throw refuse(
      "RELAY_COMMAND_NOT_ALLOWED",
      `the relay runs the router program's own commands only (${ROUTER_PROGRAM_NAME} ${ROUTER_PROGRAM_COMMANDS.join("|")}, ` +
        `creating its directory, deploying it), not '${req.argv[0] ?? ""}'`,
    );
  }
  return { ...req, identityFile: relayKeyFile };
};

/** The relay key's path must end in the name the host program accepts. */
export const RELAY_KEY_FILE_PATTERN = `^(/[A-Za-z0-9_.-]+)*/${RELAY_KEY_NAME}$`;
