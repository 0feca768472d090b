import { CommandError, hostErrorOf } from "@sdn/contracts";
import { AgentCallError } from "./agent-client.js";
import { invalidField } from "./element-errors.js";

/**
 * What a failed PlugVif tells the caller. A missing device is the caller's mistake
 * (UNPROCESSABLE on hostInterface); a device the host refused (not a VM's port, or not this
 * VM's) is FORBIDDEN with the host's message, which names only what the request named.
 * Anything else, a bridge gone mid-plug included, stays the agent's error: the caller's
 * request was fine.
 */
export const plugRefusal = (err: unknown, device: string, hostName: string): unknown => {
  if (!(err instanceof AgentCallError)) return err;
  if (hostErrorOf(err.details) === "DEVICE_NOT_FOUND") {
    return invalidField("hostInterface", `device ${device} does not exist on host ${hostName}`);
  }
  if (err.code === "FORBIDDEN") {
    const message = `host ${hostName} refused to plug ${device}: ${err.message}`;
    return new CommandError("FORBIDDEN", message, { issues: [{ path: "/hostInterface", message }] });
  }
  return err;
};
