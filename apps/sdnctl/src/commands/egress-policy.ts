import { Argument } from "@commander-js/extra-typings";
import { EGRESS_POLICIES, type ApplyOutcome } from "@sdn/contracts";
import { runMutation, withMutationOptions } from "../mutation.js";
import { examples, type CommandModule } from "./registry.js";
import { applyFields, networkPath } from "./rule-commands.js";

interface EgressPolicy {
  networkId: string;
  defaultPolicy: (typeof EGRESS_POLICIES)[number];
}

/** `sdnctl egress-policy get|set`: what leaves a network when no egress rule matches. */
export const egressPolicyCommands: CommandModule = (program, deps) => {
  const policy = program
    .command("egress-policy")
    .description("a network's egress default policy: allow (until set) or deny");
  const path = (networkId: string) => networkPath(networkId, "egress-policy");

  policy
    .command("get")
    .description("show the network's egress default policy")
    .argument("<networkId>", "network id")
    .action(async (networkId, _opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<EgressPolicy>(path(networkId));
      out.result(body, (p) =>
        out.record([
          ["network", p.networkId],
          ["default policy", p.defaultPolicy],
        ]),
      );
    });

  withMutationOptions(
    policy
      .command("set")
      .description("set the network's egress default policy and apply it on its router")
      .argument("<networkId>", "network id")
      .addArgument(new Argument("<policy>", "allow or deny").choices(EGRESS_POLICIES)),
  )
    .addHelpText(
      "after",
      examples("sdnctl egress-policy set 3f0c... deny   # then egress-rules create ... to allow some"),
    )
    .action(async (networkId, defaultPolicy, opts, cmd) => {
      const s = await deps.session(cmd);
      await runMutation<EgressPolicy & { apply: ApplyOutcome }>(
        s,
        { method: "PUT", path: path(networkId), body: { defaultPolicy } },
        opts,
        (p) => s.out.record([["network", p.networkId], ["default policy", p.defaultPolicy], ...applyFields(p.apply)]),
      );
    });
};
