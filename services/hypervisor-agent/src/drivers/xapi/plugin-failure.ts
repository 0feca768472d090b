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
