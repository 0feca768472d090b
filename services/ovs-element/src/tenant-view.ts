import { ADMIN_ACCOUNT_ID, type Role, type Tunnel } from "@sdn/contracts";

/*
 * What of the host side a tenant sees. Tunnels join hosts that several accounts share: their
 * underlay addresses and the agents' messages (which can name addresses, other bridges,
 * plugin output) are the operator's. A tenant sees host ids, ports, states and health; it
 * reads that a host failed, not why. Admins see everything, in answers to them and in the
 * events of the admin account's own networks; an operator finds a tenant network's host
 * errors in the element's log and in ListTunnels as an admin.
 */

/** What a tenant reads instead of a host's own error message. */
export const TENANT_HOST_ERROR = "the host could not apply the tunnels; an operator can see why";

/** Whether events in this account go to a tenant (anything but the admin account). */
export const tenantScope = (accountId: string | undefined): boolean =>
  accountId !== undefined && accountId !== ADMIN_ACCOUNT_ID;

/** A tunnel row as its caller may see it: an admin all of it, a tenant no underlay and no host error. */
export const tunnelFor = (role: Role, t: Tunnel): Tunnel => {
  if (role === "admin") return t;
  const { remoteIp: _underlay, ...rest } = t;
  return { ...rest, lastError: t.lastError === null ? null : TENANT_HOST_ERROR };
};

/** An event's data without its underlay address when it goes to a tenant's account. */
export const withoutUnderlay = <T extends { remoteIp?: string }>(accountId: string | undefined, data: T): T => {
  if (!tenantScope(accountId)) return data;
  const { remoteIp: _underlay, ...rest } = data;
  return rest as T;
};

/** A host's error message, or the tenant's version of it. */
export const hostErrorFor = (accountId: string | undefined, message: string): string =>
  tenantScope(accountId) ? TENANT_HOST_ERROR : message;

/** One repair the reconciler made: the operator's words, and a tenant's (no addresses, no agent messages). */
export interface Repair {
  text: string;
  tenantText: string;
}

/** The repairs as the account of the event may read them. */
export const repairsFor = (accountId: string | undefined, repairs: Repair[]): string[] =>
  repairs.map((r) => (tenantScope(accountId) ? r.tenantText : r.text));
