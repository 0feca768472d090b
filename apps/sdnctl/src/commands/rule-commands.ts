/**
 * The shape every kind of L3 rule shares: `create <networkId>`, `list <networkId>` and
 * `delete <networkId> <ruleId>` under /v1/networks/{id}/<group>. Each answer of a change
 * carries `apply`: whether the network's router runs it.
 */
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { ApplyOutcome } from "@sdn/contracts";
import { runMutation, withMutationOptions, type MutationFlags } from "../mutation.js";
import type { Column } from "../output.js";
import type { CommandDeps } from "./registry.js";

export type Fields = readonly (readonly [string, unknown])[];

/** What became of a change on the router: applied, pending (unreachable, with why) or no-router. */
export const applyFields = (apply: ApplyOutcome): Fields => [
  ["apply", apply.status],
  ["router", apply.routerId],
  ["generation", apply.generation],
  ["apply message", apply.message],
];

export interface RuleKindSpec<R> {
  /** The command group and the path segment, e.g. "port-forwards". */
  group: string;
  description: string;
  /** One rule, for help texts: "a port forward". */
  what: string;
  /** The list answer's key, e.g. "portForwards". */
  listKey: string;
  columns: readonly Column<R>[];
  /** The rule as record lines (without `apply`). */
  fields: (rule: R) => Fields;
}

export const networkPath = (networkId: string, group: string) =>
  `/v1/networks/${encodeURIComponent(networkId)}/${group}`;

/**
 * Adds the group with its `list` and `delete` commands, and returns its `create` command
 * (argument <networkId>) for the kind's own options and withMutationOptions, with
 * `submit` to send what they make.
 */
export const ruleCommands = <R>(program: CommandUnknownOpts, deps: CommandDeps, spec: RuleKindSpec<R>) => {
  const group = program.command(spec.group).description(spec.description);
  const path = (networkId: string) => networkPath(networkId, spec.group);

  const create = group
    .command("create")
    .description(`create ${spec.what} and apply it on the network's router`)
    .argument("<networkId>", "network id");
  const submit = async (cmd: CommandUnknownOpts, networkId: string, body: object, flags: MutationFlags) => {
    const s = await deps.session(cmd);
    await runMutation<R & { apply: ApplyOutcome }>(s, { method: "POST", path: path(networkId), body }, flags, (r) =>
      s.out.record([...spec.fields(r), ...applyFields(r.apply)]),
    );
  };

  group
    .command("list")
    .description(`list the network's ${spec.group.replaceAll("-", " ")}`)
    .argument("<networkId>", "network id")
    .action(async (networkId, _opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<Record<string, R[]>>(path(networkId));
      out.result(body, (b) => out.table(b[spec.listKey] ?? [], spec.columns));
    });

  withMutationOptions(
    group
      .command("delete")
      .description(`delete ${spec.what} and apply the change on the network's router`)
      .argument("<networkId>", "network id")
      .argument("<ruleId>", "rule id (from list)"),
  ).action(async (networkId, ruleId, opts, cmd) => {
    const s = await deps.session(cmd);
    await runMutation<{ id: string; apply: ApplyOutcome }>(
      s,
      { method: "DELETE", path: `${path(networkId)}/${encodeURIComponent(ruleId)}` },
      opts,
      (d) => s.out.record([["deleted", d.id], ...applyFields(d.apply)]),
    );
  });

  return { create, submit };
};

/** "80", "8000-8010", or undefined when the rule has no ports. */
export const portsText = (start: number | undefined, end: number | undefined): string | undefined =>
  start === undefined ? undefined : end === undefined || end === start ? String(start) : `${start}-${end}`;
