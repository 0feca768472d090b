import { accountsCommands } from "./accounts.js";
import { adminCommands } from "./admin.js";
import { auditCommands } from "./audit.js";
import { busCredentialsCommands } from "./bus-credentials.js";
import { completionCommands } from "./completion.js";
import { egressPolicyCommands } from "./egress-policy.js";
import { egressRulesCommands } from "./egress-rules.js";
import { eventsCommands } from "./events.js";
import { firewallRulesCommands } from "./firewall-rules.js";
import { healthCommands } from "./health.js";
import { hostsCommands } from "./hosts.js";
import { interNetworkRoutesCommands } from "./inter-network-routes.js";
import { jobsCommands } from "./jobs.js";
import { loadBalancersCommands } from "./load-balancers.js";
import { loginCommands } from "./login.js";
import { networksCommands } from "./networks.js";
import { nicsCommands } from "./nics.js";
import { portForwardsCommands } from "./port-forwards.js";
import { providersCommands } from "./providers.js";
import { publicIpRangesCommands } from "./public-ip-ranges.js";
import { publicIpsCommands } from "./public-ips.js";
import { quotasCommands } from "./quotas.js";
import type { CommandModule } from "./registry.js";
import { routersCommands } from "./routers.js";
import { servicesCommands } from "./services.js";
import { staticNatsCommands } from "./static-nats.js";
import { tokensCommands } from "./tokens.js";
import { topologyCommands } from "./topology.js";
import { tunnelsCommands } from "./tunnels.js";

/** The command tree, in the order `sdnctl --help` lists it. A new resource adds one line. */
export const COMMAND_MODULES: readonly CommandModule[] = [
  loginCommands,
  healthCommands,
  accountsCommands,
  tokensCommands,
  quotasCommands,
  busCredentialsCommands,
  hostsCommands,
  networksCommands,
  nicsCommands,
  tunnelsCommands,
  topologyCommands,
  providersCommands,
  publicIpsCommands,
  publicIpRangesCommands,
  routersCommands,
  portForwardsCommands,
  staticNatsCommands,
  firewallRulesCommands,
  egressRulesCommands,
  egressPolicyCommands,
  loadBalancersCommands,
  interNetworkRoutesCommands,
  jobsCommands,
  eventsCommands,
  auditCommands,
  servicesCommands,
  adminCommands,
  completionCommands,
];
