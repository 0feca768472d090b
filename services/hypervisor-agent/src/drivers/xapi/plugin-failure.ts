import { HostFailure, HostProgramError } from "../errors.js";
import { HOST_PROGRAMS_VERSION, XAPI_PLUGIN } from "../host-programs.js";
import { XapiError } from "./xapi-client.js";

/**
 * Turns an XENAPI_PLUGIN_FAILURE description into one sentence. XAPI reports a plugin that
 * exits non-zero, dies of a signal or prints garbage as [what, stdout, stderr]; a plugin
 * whose function raised (XenAPIPlugin convention) as [fn, exception class, message].
 */
export const describePluginFailure = (plugin: string, fn: string, params: readonly string[]): string => {
  const [what = "", a = "", b = ""] = params;
  const lastLine = (text: string) =>
    text
      .trim()
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? "";
  const output = (out: string, err: string) => lastLine(err) || lastLine(out) || "no output";
  if (what === "non-zero exit") return `host plugin ${plugin} (${fn}) exited with an error: ${output(a, b)}`;
  if (what.startsWith("signal")) return `host plugin ${plugin} (${fn}) was killed (${what}): ${output(a, b)}`;
  if (what === "failed to parse plugin output") {
    return `host plugin ${plugin} (${fn}) printed no valid answer: ${output(a, b)}`;
  }
  if (what === "fault") return `host plugin ${plugin} (${fn}) answered with fault ${a}: ${b}`;
  return `host plugin ${plugin} (${what || fn}) failed with ${a || "an error"}: ${b || "no message"}`;
};

/** A plugin's failure as the host program error it stands for; undefined when it is no plugin failure. */
export const pluginError = (plugin: string, fn: string, err: unknown): HostProgramError | undefined => {
  if (!(err instanceof XapiError)) return undefined;
  if (err.code === "SDN_HOST_ERROR") {
    return new HostProgramError(err.params[0] ?? "HOST_ERROR", err.params[1] ?? "the host program failed");
  }
  if (err.code === "XENAPI_PLUGIN_FAILURE") {
    return new HostProgramError("XENAPI_PLUGIN_FAILURE", describePluginFailure(plugin, fn, err.params));
  }
  if (err.code === "XENAPI_MISSING_PLUGIN") {
    return new HostProgramError("XENAPI_MISSING_PLUGIN", `XAPI plugin ${plugin} is missing on the host`);
  }
  return undefined;
};

/** What the plugin on a host answers to `version`: its version, or why it cannot. */
export type PluginCheck = { version: string } | { problem: HostProgramError };

/** Why a host whose plugin is not the one this agent needs is refused (`hint`: what would help). */
export const pluginRefusal = (address: string, check: PluginCheck, hint: string): HostFailure => {
  const plugin = `XAPI plugin ${XAPI_PLUGIN} on ${address}`;
  if ("version" in check) {
    return new HostFailure(
      "PROGRAMS_OUTDATED",
      `${plugin} is version ${check.version}, this agent needs ${HOST_PROGRAMS_VERSION}${hint}`,
    );
  }
  if (check.problem.hostError === "UNSUPPORTED_PYTHON") {
    return new HostFailure("UNSUPPORTED_PYTHON", `${plugin} cannot run: ${check.problem.message}${hint}`);
  }
  if (check.problem.hostError === "XENAPI_MISSING_PLUGIN") {
    return new HostFailure("PROGRAMS_MISSING", `${plugin} is not installed${hint}`);
  }
  return new HostFailure("HOST_PROGRAM_FAILED", `${plugin} does not work (${check.problem.message})${hint}`);
};
