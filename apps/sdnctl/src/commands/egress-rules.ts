import type { EgressRule } from "@sdn/contracts";
import { commaList } from "../parsers.js";
import { withMutationOptions } from "../mutation.js";
import { examples, type CommandModule } from "./registry.js";
import { ruleCommands } from "./rule-commands.js";
import { trafficBody, trafficText, withTrafficOptions } from "./traffic-options.js";

/** `sdnctl egress-rules create|list|delete`: exceptions to the network's egress policy. */
export const egressRulesCommands: CommandModule = (program, deps) => {
  const { create, submit } = ruleCommands<EgressRule>(program, deps, {
    group: "egress-rules",
    description:
      "egress rules: exceptions to the network's egress policy (allowed out under deny, blocked under allow)",
    what: "an egress rule",
    listKey: "egressRules",
    columns: [
      { header: "ID", value: (r) => r.id },
      { header: "TRAFFIC", value: trafficText },
      { header: "DESTINATIONS", value: (r) => r.destinationCidrs.join(",") },
      { header: "CREATED", value: (r) => r.createdAt },
    ],
    fields: (r) => [
      ["id", r.id],
      ["network", r.networkId],
      ["traffic", trafficText(r)],
      ["destinations", r.destinationCidrs.join(", ")],
      ["created", r.createdAt],
    ],
  });

  withMutationOptions(
    withTrafficOptions(create).option(
      "--destination-cidrs <cidrs>",
      "destinations, comma-separated (default 0.0.0.0/0)",
      commaList,
    ),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl egress-policy set 3f0c... deny",
        "sdnctl egress-rules create 3f0c... --protocol tcp --ports 443 --destination-cidrs 0.0.0.0/0",
      ),
    )
    .action(async (networkId, opts, cmd) => {
      const body = {
        ...trafficBody(opts),
        ...(opts.destinationCidrs === undefined ? {} : { destinationCidrs: opts.destinationCidrs }),
      };
      await submit(cmd, networkId, body, opts);
    });
};
