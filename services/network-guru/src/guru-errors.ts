import { CommandError } from "@sdn/contracts";

/** A field whose value is well-formed but unusable; details name it like schema errors do. */
export const invalidField = (field: string, message: string): CommandError =>
  new CommandError("UNPROCESSABLE", message, { issues: [{ path: `/${field}`, message }] });

/** A field whose value collides with the current state (an address already taken). */
export const conflictingField = (field: string, message: string): CommandError =>
  new CommandError("CONFLICT", message, { issues: [{ path: `/${field}`, message }] });

export const notFound = (what: string, id: string): CommandError =>
  new CommandError("NOT_FOUND", `${what} ${id} not found`);

export const conflict = (message: string, details?: unknown): CommandError =>
  new CommandError("CONFLICT", message, details);

/** Lost compare-and-swap races more often than any sane load produces; the caller may retry. */
export const tooMuchContention = (what: string): CommandError =>
  new CommandError("CONFLICT", `${what} kept changing under concurrent commands; retry the command`);

/** Names at most a few items of a list in a message, with how many more there are. */
export const nameSome = (items: readonly string[], max = 10): string =>
  items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
