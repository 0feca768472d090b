import { CheckHealth } from "./commands/health.js";
import type { CommandDefinition, EventDefinition } from "./definitions.js";
import { ServiceStarted } from "./events/lifecycle.js";

/** Every command and event in the contract, for documentation (AsyncAPI) and tests. */
export const ALL_COMMANDS: readonly CommandDefinition[] = [...Object.values(CheckHealth)];

export const ALL_EVENTS: readonly EventDefinition[] = [...Object.values(ServiceStarted)];
