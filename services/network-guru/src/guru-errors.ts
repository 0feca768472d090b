import { CommandError } from "@sdn/contracts";

// The refusals every service makes alike live in contracts; the guru's modules take them from here.
export { conflict, conflictingField, invalidField, notFound } from "@sdn/contracts";

/** Lost compare-and-swap races more often than any sane load produces; the caller may retry. */
export const tooMuchContention = (what: string): CommandError =>
  new CommandError("CONFLICT", `${what} kept changing under concurrent commands; retry the command`);

/** Names at most a few items of a list in a message, with how many more there are. */
export const nameSome = (items: readonly string[], max = 10): string =>
  items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
