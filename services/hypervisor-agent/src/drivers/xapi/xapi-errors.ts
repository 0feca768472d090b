import { HostFailure, HostProgramError } from "../errors.js";
import { XapiError, XapiTransportError } from "./xapi-client.js";

/** A XAPI failure in the agent's terms: the host lost or refusing us (HostFailure), or XAPI's own code. */
export const translateXapiError = (err: unknown, where: string, username: string, method?: string): unknown => {
  if (err instanceof XapiTransportError) {
    if (err.tls)
      return new HostFailure("TLS_VERIFICATION_FAILED", `TLS verification of ${where} failed: ${err.message}`);
    return new HostFailure("UNREACHABLE", `cannot reach XAPI at ${err.message}`);
  }
  if (err instanceof XapiError) {
    if (err.code === "SESSION_AUTHENTICATION_FAILED") {
      return new HostFailure("AUTHENTICATION_FAILED", `XAPI at ${where} refused the credentials of '${username}'`);
    }
    if (err.code === "HOST_OFFLINE" || err.code === "HOST_STILL_BOOTING") {
      return new HostFailure("UNREACHABLE", `XAPI says the host is not available: ${err.message}`);
    }
    return new HostProgramError(err.code, `XAPI refused ${method ?? "the call"}: ${err.message}`);
  }
  return err;
};
