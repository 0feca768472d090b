import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { methodCall, parseMethodResponse, str, type XapiValue } from "./codec.js";

/** What host.call_plugin answers: the plugin's string value, or an XAPI error description. */
export type PluginOutcome = { ok: true; value: string } | { ok: false; error: string[] };

/**
 * Runs a plugin exactly as XAPI does (ocaml/xapi/xapi_plugins.ml): the executable
 * `<dir>/<plugin>` with ONE argument, the XML-RPC methodCall of `fn` with params
 * [session, args], no stdin; its stdout must be a methodResponse whose Value is a string.
 */
export const runPlugin = async (
  dir: string,
  plugin: string,
  fn: string,
  session: string,
  args: Record<string, string>,
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<PluginOutcome> => {
  const path = join(dir, plugin);
  if (plugin.includes("/") || plugin.startsWith(".") || !existsSync(path)) {
    return { ok: false, error: ["XENAPI_MISSING_PLUGIN", plugin] };
  }
  const call = methodCall(fn, [session, args]);
  const { code, signal, stdout, stderr } = await new Promise<{
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
  }>((resolve) =>
    execFile(
      path,
      [call],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } },
      (err, out, errOut) =>
        resolve({
          code: err === null ? 0 : typeof err.code === "number" ? err.code : null,
          signal: err?.signal ?? null,
          stdout: out,
          stderr: errOut || (err !== null && typeof err.code !== "number" && !err.signal ? err.message : ""),
        }),
    ),
  );
  if (signal !== null) return { ok: false, error: ["XENAPI_PLUGIN_FAILURE", `signal: ${signal}`, stdout, stderr] };
  if (code !== 0) return { ok: false, error: ["XENAPI_PLUGIN_FAILURE", "non-zero exit", stdout, stderr] };
  let parsed: XapiValue;
  try {
    parsed = await parseMethodResponse(stdout);
  } catch (err) {
    const fault = err as { faultCode?: XapiValue; faultString?: XapiValue };
    if (fault.faultCode !== undefined) {
      return {
        ok: false,
        error: ["XENAPI_PLUGIN_FAILURE", "fault", str(fault.faultCode), str(fault.faultString)],
      };
    }
    return { ok: false, error: ["XENAPI_PLUGIN_FAILURE", "failed to parse plugin output", stdout, stderr] };
  }
  const struct = parsed as { Status?: unknown; Value?: unknown; ErrorDescription?: unknown };
  if (struct.Status === "Success" && typeof struct.Value === "string") return { ok: true, value: struct.Value };
  if (struct.Status === "Failure" && Array.isArray(struct.ErrorDescription)) {
    return { ok: false, error: struct.ErrorDescription.map(String) };
  }
  return { ok: false, error: ["XENAPI_PLUGIN_FAILURE", "failed to parse plugin output", stdout, stderr] };
};
