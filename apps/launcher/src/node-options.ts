/**
 * V8 flags every service process runs with. A service's start-up (loading modules, building
 * schemas) grows V8's young generation to its 16 MB semi-spaces, and an idle process seldom
 * gives them back: capped at 1 MB, each service keeps about 20 MB less resident at idle
 * (issue 18; `npm run bench idle-memory`). The cost is more frequent young collections under
 * load; docs/operations.md says how to raise it.
 */
export const SERVICE_NODE_OPTIONS = "--max-semi-space-size=1";

/**
 * NODE_OPTIONS for a service: ours first, then the operator's, so that a flag the operator
 * sets (e.g. `--max-semi-space-size=16`) wins, V8 keeping the last value of a flag.
 */
export const serviceNodeOptions = (env: NodeJS.ProcessEnv): string =>
  [SERVICE_NODE_OPTIONS, env["NODE_OPTIONS"]].filter((o) => o !== undefined && o.trim() !== "").join(" ");
