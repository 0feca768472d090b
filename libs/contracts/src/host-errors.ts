import type { ErrorCode } from "./errors.js";

/**
 * Why a host program refused or failed: the stable reasons the host programs
 * (`sdn_ovs.py`, `sdn_guest.py`, the XAPI plugin, the KVM script) and the agent's own OVSDB
 * plans answer with, each with the answer code it becomes. An agent answer carries the
 * reason in `details.hostError`, so callers act on the reason, not on the broader code
 * (a plug whose bridge vanished and a plug of a missing device are both NOT_FOUND).
 * `host-errors.test.ts` checks that every reason the Python programs raise is listed here.
 */
export const HOST_ERRORS = {
  BRIDGE_NOT_FOUND: "NOT_FOUND",
  DEVICE_NOT_FOUND: "NOT_FOUND",
  INTERFACE_NOT_FOUND: "NOT_FOUND",
  BRIDGE_CONFLICT: "CONFLICT",
  NOT_MANAGED: "CONFLICT",
  INVALID_ARGUMENT: "INVALID_COMMAND",
  NOT_AN_OVS_HOST: "UNPROCESSABLE",
  COMMAND_FAILED: "UNPROCESSABLE",
  OVS_COMMAND_FAILED: "UNPROCESSABLE",
  /** sdn_guest.py: the device is not a VM's port, or not the named VM's. */
  NOT_A_GUEST_DEVICE: "FORBIDDEN",
  DEVICE_NOT_OWNED: "FORBIDDEN",
  /** The host's own check of a router relay (the agent refuses these first). */
  RELAY_ADDRESS_NOT_LINK_LOCAL: "FORBIDDEN",
  RELAY_KEY_NOT_ALLOWED: "FORBIDDEN",
  RELAY_COMMAND_NOT_ALLOWED: "FORBIDDEN",
  RELAY_KEY_MISSING: "UNPROCESSABLE",
  /** The relay reached the host but not the router behind it. */
  ROUTER_UNREACHABLE: "UNAVAILABLE",
  ROUTER_SSH_FAILED: "UNAVAILABLE",
  ROUTER_TIMEOUT: "UNAVAILABLE",
  ROUTER_HOST_KEY_MISMATCH: "UNPROCESSABLE",
  /**
   * An encrypted network's tunnels on a host that cannot encrypt them: no running
   * ovs-monitor-ipsec (openvswitch-ipsec), or a bridge on the userspace (netdev) datapath,
   * whose tunnel packets never pass the kernel's IPsec. Refused, never carried in clear.
   */
  IPSEC_UNAVAILABLE: "UNPROCESSABLE",
  IPSEC_DATAPATH_UNSUPPORTED: "UNPROCESSABLE",
  /** The sealed pre-shared key does not open with this agent's key (SDN_SECRET_KEY changed). */
  IPSEC_KEY_UNREADABLE: "UNPROCESSABLE",
  /** The agent's own: a program's answer is not JSON or breaks its schema (drivers/program-answers.ts). */
  BAD_OUTPUT: "UNPROCESSABLE",
  /** The control domain's Python is older than 3.6 (the plugin's own check). */
  UNSUPPORTED_PYTHON: "UNPROCESSABLE",
} as const satisfies Record<string, ErrorCode>;
export type HostErrorReason = keyof typeof HOST_ERRORS;

const isHostErrorReason = (s: unknown): s is HostErrorReason => typeof s === "string" && Object.hasOwn(HOST_ERRORS, s);

/** The answer code of a host program's reason; an unknown reason (e.g. XAPI's own) is UNPROCESSABLE. */
export const codeOfHostError = (reason: string): ErrorCode =>
  isHostErrorReason(reason) ? HOST_ERRORS[reason] : "UNPROCESSABLE";

/** The host program's reason an agent answer's error details carry, when it is one of ours. */
export const hostErrorOf = (details: unknown): HostErrorReason | undefined => {
  const reason = (details as { hostError?: unknown } | undefined)?.hostError;
  return isHostErrorReason(reason) ? reason : undefined;
};
