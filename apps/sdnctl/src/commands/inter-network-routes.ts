import type { InterNetworkRoute } from "@sdn/contracts";
import { withMutationOptions } from "../mutation.js";
import { examples, type CommandModule } from "./registry.js";
import { ruleCommands } from "./rule-commands.js";

/** `sdnctl inter-network-routes create|list|delete`: routing between two networks of one router. */
export const interNetworkRoutesCommands: CommandModule = (program, deps) => {
  const { create, submit } = ruleCommands<InterNetworkRoute>(program, deps, {
    group: "inter-network-routes",
    description: "routing between two guest networks of the same router (off by default)",
    what: "an inter-network route",
    listKey: "interNetworkRoutes",
    columns: [
      { header: "ID", value: (r) => r.id },
      { header: "NETWORKS", value: (r) => r.networkIds.join(",") },
      { header: "ROUTER", value: (r) => r.routerId },
      { header: "CREATED", value: (r) => r.createdAt },
    ],
    fields: (r) => [
      ["id", r.id],
      ["networks", r.networkIds.join(", ")],
      ["account", r.accountId],
      ["created", r.createdAt],
    ],
  });

  withMutationOptions(
    create.requiredOption("--peer <networkId>", "the other network (same router, same owner; required)"),
  )
    .addHelpText("after", examples("sdnctl inter-network-routes create 3f0c... --peer 7a1d..."))
    .action(async (networkId, opts, cmd) => {
      await submit(cmd, networkId, { peerNetworkId: opts.peer }, opts);
    });
};
