import type { MsgHdrs } from "@nats-io/transport-node";
import { HEADERS, ROLES, type Role } from "@sdn/contracts";

/** What a handler knows about the command besides its body. */
export interface CommandContext {
  readonly commandId: string;
  /** The tenant the command runs for; absent for system-internal commands. */
  readonly accountId: string | undefined;
  readonly role: Role;
  /** 1 on first delivery; more when a replica died mid-command and it came back. */
  readonly deliveryCount: number;
}

/**
 * Reads the caller's identity from headers. A missing or unknown role is treated as a
 * tenant: privileges are never assumed.
 */
export const contextFromHeaders = (
  h: MsgHdrs | undefined,
  commandId: string,
  deliveryCount: number,
): CommandContext => {
  const role = h?.get(HEADERS.role);
  const accountId = h?.get(HEADERS.accountId);
  return {
    commandId,
    accountId: accountId === undefined || accountId === "" ? undefined : accountId,
    role: (ROLES as readonly string[]).includes(role ?? "") ? (role as Role) : "tenant",
    deliveryCount,
  };
};
