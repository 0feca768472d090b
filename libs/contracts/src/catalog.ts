import { AGENT_COMMANDS } from "./commands/agent.js";
import { CheckHealth } from "./commands/health.js";
import { HOST_COMMANDS } from "./commands/hosts.js";
import { NETWORK_GURU_COMMANDS } from "./commands/networks.js";
import { NIC_COMMANDS } from "./commands/nics.js";
import { PROVIDER_COMMANDS } from "./commands/providers.js";
import { TUNNEL_COMMANDS } from "./commands/tunnels.js";
import { RelayToRouter } from "./commands/router-relay.js";
import { VR_MANAGER_COMMANDS } from "./commands/routers.js";
import type { CommandDefinition, EventDefinition } from "./definitions.js";
import { HOST_EVENTS } from "./events/hosts.js";
import { ServiceStarted } from "./events/lifecycle.js";
import { NETWORK_GURU_EVENTS } from "./events/networks.js";
import { NIC_EVENTS } from "./events/nics.js";
import { TUNNEL_EVENTS } from "./events/tunnels.js";
import { VR_MANAGER_EVENTS } from "./events/routers.js";

/** Every command and event in the contract, for documentation (AsyncAPI) and tests. */
export const ALL_COMMANDS: readonly CommandDefinition[] = [
  ...Object.values(CheckHealth),
  ...NETWORK_GURU_COMMANDS,
  ...HOST_COMMANDS,
  ...AGENT_COMMANDS,
  ...PROVIDER_COMMANDS,
  ...NIC_COMMANDS,
  ...TUNNEL_COMMANDS,
  RelayToRouter,
  ...VR_MANAGER_COMMANDS,
];

/**
 * Commands to one host's agent (`sdn.agent.<hostId>.<Command>`, called by services only),
 * as opposed to a service's request-tier reads (`sdn.req.<service>.<origin>.<Command>`):
 * both travel as `delivery: "request"`.
 */
export const AGENT_TIER_COMMANDS: readonly CommandDefinition[] = [...AGENT_COMMANDS, RelayToRouter];

export const ALL_EVENTS: readonly EventDefinition[] = [
  ...Object.values(ServiceStarted),
  ...NETWORK_GURU_EVENTS,
  ...HOST_EVENTS,
  ...NIC_EVENTS,
  ...TUNNEL_EVENTS,
  ...VR_MANAGER_EVENTS,
];
