import { CommandError, type ErrorCode } from "@sdn/contracts";

/** Why a router could not be reached or refused a configuration; shown in details.reason. */
export type RouterFailureReason =
  "UNREACHABLE" | "HOST_KEY_MISMATCH" | "AUTHENTICATION_FAILED" | "PROGRAM_FAILED" | "ROUTER_REFUSED";

const CODE_OF: Record<RouterFailureReason, ErrorCode> = {
  UNREACHABLE: "UNAVAILABLE",
  HOST_KEY_MISMATCH: "UNPROCESSABLE",
  AUTHENTICATION_FAILED: "UNPROCESSABLE",
  PROGRAM_FAILED: "UNPROCESSABLE",
  ROUTER_REFUSED: "UNPROCESSABLE",
};

/**
 * A router-level failure. `routerCode` is the router program's own code when it refused
 * a configuration (STALE_GENERATION, HAPROXY_RELOAD_FAILED, ...). Messages come from our
 * code and the router program's answers, never from key material.
 */
export class RouterFailure extends Error {
  override readonly name = "RouterFailure";
  constructor(
    readonly reason: RouterFailureReason,
    message: string,
    readonly routerCode?: string,
  ) {
    super(message);
  }

  /** The code events and router records carry: the router's own code when it has one. */
  get code(): string {
    return this.routerCode ?? this.reason;
  }

  toCommandError(extra: Record<string, unknown> = {}): CommandError {
    return new CommandError(CODE_OF[this.reason], this.message, {
      reason: this.reason,
      ...(this.routerCode === undefined ? {} : { routerCode: this.routerCode }),
      ...extra,
    });
  }
}

// The refusals every service makes alike live in contracts; the vr-manager's modules take them from here.
export { conflict, invalidField, notFound } from "@sdn/contracts";

export const requireAdmin = (role: string, command: string): void => {
  if (role !== "admin") throw new CommandError("FORBIDDEN", `${command} is reserved to admins`);
};
