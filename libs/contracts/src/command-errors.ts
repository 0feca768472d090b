import { CommandError } from "./errors.js";

/*
 * The refusals every service's handlers make in the same words: a field's details name it
 * as schema validation does (`issues[].path`), so a client points at the field either way.
 */

/** A field whose value is well-formed but unusable. */
export const invalidField = (field: string, message: string): CommandError =>
  new CommandError("UNPROCESSABLE", message, { issues: [{ path: `/${field}`, message }] });

/** A field whose value collides with the current state (an address, a device or a MAC already taken). */
export const conflictingField = (field: string, message: string): CommandError =>
  new CommandError("CONFLICT", message, { issues: [{ path: `/${field}`, message }] });

export const notFound = (what: string, id: string): CommandError =>
  new CommandError("NOT_FOUND", `${what} ${id} not found`);

export const conflict = (message: string, details?: unknown): CommandError =>
  new CommandError("CONFLICT", message, details);
