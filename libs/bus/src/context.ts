import type { MsgHdrs } from "@nats-io/transport-node";
import { HEADERS, ROLES, type CommandOrigin, type Role } from "@sdn/contracts";

/** What a handler knows about the command besides its body. */
export interface CommandContext {
  readonly commandId: string;
  /** The tenant the command runs for; absent for system-internal commands. */
  readonly accountId: string | undefined;
  readonly role: Role;
  /** 1 on first delivery; more when a replica died mid-command and it came back. */
  readonly deliveryCount: number;
}

const headerAccount = (h: MsgHdrs | undefined): string | undefined => {
  const accountId = h?.get(HEADERS.accountId);
  return accountId === undefined || accountId === "" ? undefined : accountId;
};

/**
 * Reads the caller's identity from headers. Only for messages whose publishers the NATS
 * server restricts to trusted principals (the gateway and the services: durable commands
 * in their namespace, and the agent tier, which only services may call). A missing or
 * unknown role is treated as a tenant: privileges are never assumed.
 */
export const contextFromHeaders = (
  h: MsgHdrs | undefined,
  commandId: string,
  deliveryCount: number,
): CommandContext => {
  const role = h?.get(HEADERS.role);
  return {
    commandId,
    accountId: headerAccount(h),
    role: (ROLES as readonly string[]).includes(role ?? "") ? (role as Role) : "tenant",
    deliveryCount,
  };
};

/**
 * The caller's identity from where a durable command arrived. The server's permissions
 * decide who may publish into which origin, so headers count only for trusted principals:
 * admin bus credentials act as admin (for the account the header names), an account's
 * tenant credentials act as that tenant whatever headers they set.
 */
export const contextFromOrigin = (
  origin: CommandOrigin,
  h: MsgHdrs | undefined,
  commandId: string,
  deliveryCount: number,
): CommandContext => {
  switch (origin.kind) {
    case "principal":
      return contextFromHeaders(h, commandId, deliveryCount);
    case "admin":
      return { commandId, accountId: headerAccount(h), role: "admin", deliveryCount };
    case "account":
      return { commandId, accountId: origin.accountId, role: "tenant", deliveryCount };
  }
};
