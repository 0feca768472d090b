import { accountsCommands } from "./accounts.js";
import { eventsCommands } from "./events.js";
import { healthCommands } from "./health.js";
import { hostsCommands } from "./hosts.js";
import { jobsCommands } from "./jobs.js";
import { loginCommands } from "./login.js";
import { networksCommands } from "./networks.js";
import { nicsCommands } from "./nics.js";
import { providersCommands } from "./providers.js";
import { publicIpRangesCommands } from "./public-ip-ranges.js";
import { publicIpsCommands } from "./public-ips.js";
import type { CommandModule } from "./registry.js";
import { servicesCommands } from "./services.js";
import { tokensCommands } from "./tokens.js";
import { tunnelsCommands } from "./tunnels.js";

/** The command tree, in the order `sdnctl --help` lists it. A new resource adds one line. */
export const COMMAND_MODULES: readonly CommandModule[] = [
  loginCommands,
  healthCommands,
  accountsCommands,
  tokensCommands,
  hostsCommands,
  networksCommands,
  nicsCommands,
  tunnelsCommands,
  providersCommands,
  publicIpsCommands,
  publicIpRangesCommands,
  jobsCommands,
  eventsCommands,
  servicesCommands,
];
