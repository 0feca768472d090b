import type { StaticNat } from "@sdn/contracts";
import { withMutationOptions } from "../mutation.js";
import { examples, type CommandModule } from "./registry.js";
import { ruleCommands } from "./rule-commands.js";

/** `sdnctl static-nats create|list|delete`: a public IP given 1:1 to one VM. */
export const staticNatsCommands: CommandModule = (program, deps) => {
  const { create, submit } = ruleCommands<StaticNat>(program, deps, {
    group: "static-nats",
    description: "static NAT: a public IP given 1:1 to one VM, both directions (open it with firewall-rules)",
    what: "a static NAT",
    listKey: "staticNats",
    columns: [
      { header: "ID", value: (r) => r.id },
      { header: "PUBLIC IP", value: (r) => r.publicIp },
      { header: "PRIVATE IP", value: (r) => r.privateIp },
      { header: "CREATED", value: (r) => r.createdAt },
    ],
    fields: (r) => [
      ["id", r.id],
      ["network", r.networkId],
      ["public ip", `${r.publicIp} (${r.publicIpId})`],
      ["private ip", r.privateIp],
      ["created", r.createdAt],
    ],
  });

  withMutationOptions(
    create
      .requiredOption("--public-ip <publicIpId>", "a public IP of the network, not its source NAT one (required)")
      .requiredOption("--private-ip <ip>", "the VM's address on the network (required)"),
  )
    .addHelpText(
      "after",
      examples("sdnctl static-nats create 3f0c... --public-ip pip-203-0-113-11-5e6f7a8b --private-ip 10.1.0.17"),
    )
    .action(async (networkId, opts, cmd) => {
      await submit(cmd, networkId, { publicIpId: opts.publicIp, privateIp: opts.privateIp }, opts);
    });
};
