import type { CommandContext } from "@sdn/bus";
import { CommandError } from "@sdn/contracts";
import { invalidField } from "./guru-errors.js";

/** Admins see everything; a tenant sees only its own account's resources. */
export const canSee = (ctx: CommandContext, accountId: string): boolean =>
  ctx.role === "admin" || (ctx.accountId !== undefined && ctx.accountId === accountId);

export const requireAdmin = (ctx: CommandContext, command: string): void => {
  if (ctx.role !== "admin") throw new CommandError("FORBIDDEN", `${command} is reserved to admins`);
};

/** The account a new resource belongs to: a tenant's own, or the one an admin names. */
export const ownerFor = (ctx: CommandContext, requested: string | undefined): string => {
  if (ctx.role === "admin") {
    const owner = requested ?? ctx.accountId;
    if (owner === undefined) throw invalidField("accountId", "an admin must name the account that owns the network");
    return owner;
  }
  if (ctx.accountId === undefined) throw new CommandError("UNAUTHORIZED", "the command carries no account");
  if (requested !== undefined && requested !== ctx.accountId) {
    throw new CommandError("FORBIDDEN", "a tenant creates networks only for its own account");
  }
  return ctx.accountId;
};
