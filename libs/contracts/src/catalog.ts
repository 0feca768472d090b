import { AGENT_COMMANDS } from "./commands/agent.js";
import { CheckHealth } from "./commands/health.js";
import { HOST_COMMANDS } from "./commands/hosts.js";
import type { CommandDefinition, EventDefinition } from "./definitions.js";
import { HOST_EVENTS } from "./events/hosts.js";
import { ServiceStarted } from "./events/lifecycle.js";

/** Every command and event in the contract, for documentation (AsyncAPI) and tests. */
export const ALL_COMMANDS: readonly CommandDefinition[] = [
  ...Object.values(CheckHealth),
  ...HOST_COMMANDS,
  ...AGENT_COMMANDS,
];

export const ALL_EVENTS: readonly EventDefinition[] = [...Object.values(ServiceStarted), ...HOST_EVENTS];
