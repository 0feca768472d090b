import type { FirewallRule } from "@sdn/contracts";
import { commaList } from "../parsers.js";
import { withMutationOptions } from "../mutation.js";
import { examples, type CommandModule } from "./registry.js";
import { ruleCommands } from "./rule-commands.js";
import { trafficBody, trafficText, withTrafficOptions } from "./traffic-options.js";

/** `sdnctl firewall-rules create|list|delete`: ingress allowed to a public IP (default deny). */
export const firewallRulesCommands: CommandModule = (program, deps) => {
  const { create, submit } = ruleCommands<FirewallRule>(program, deps, {
    group: "firewall-rules",
    description: "ingress firewall of public IPs: what may reach them (everything else is dropped)",
    what: "an ingress firewall rule",
    listKey: "firewallRules",
    columns: [
      { header: "ID", value: (r) => r.id },
      { header: "PUBLIC IP", value: (r) => r.publicIp },
      { header: "TRAFFIC", value: trafficText },
      { header: "SOURCES", value: (r) => r.sourceCidrs.join(",") },
    ],
    fields: (r) => [
      ["id", r.id],
      ["network", r.networkId],
      ["public ip", `${r.publicIp} (${r.publicIpId})`],
      ["traffic", trafficText(r)],
      ["sources", r.sourceCidrs.join(", ")],
      ["created", r.createdAt],
    ],
  });

  withMutationOptions(
    withTrafficOptions(
      create.requiredOption("--public-ip <publicIpId>", "the public IP it opens (id from public-ips list; required)"),
    ).option("--source-cidrs <cidrs>", "allowed sources, comma-separated (default 0.0.0.0/0)", commaList),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl firewall-rules create 3f0c... --public-ip pip-... --protocol tcp --ports 8080 --source-cidrs 198.51.100.0/24",
        "sdnctl firewall-rules create 3f0c... --public-ip pip-... --protocol icmp --icmp-type 8",
      ),
    )
    .action(async (networkId, opts, cmd) => {
      const body = {
        publicIpId: opts.publicIp,
        ...trafficBody(opts),
        ...(opts.sourceCidrs === undefined ? {} : { sourceCidrs: opts.sourceCidrs }),
      };
      await submit(cmd, networkId, body, opts);
    });
};
