import { CommandError } from "@sdn/contracts";

/** A field whose value is well-formed but unusable; details name it like schema errors do. */
export const invalidField = (field: string, message: string): CommandError =>
  new CommandError("UNPROCESSABLE", message, { issues: [{ path: `/${field}`, message }] });

/** A field whose value collides with the current state (a device or MAC already plugged). */
export const conflictingField = (field: string, message: string): CommandError =>
  new CommandError("CONFLICT", message, { issues: [{ path: `/${field}`, message }] });

export const notFound = (what: string, id: string): CommandError =>
  new CommandError("NOT_FOUND", `${what} ${id} not found`);

export const describeError = (err: unknown): string => (err instanceof Error ? err.message : String(err));
