import type { Tunnel } from "@sdn/contracts";
import { listPages, withPageOptions } from "../paging.js";
import { examples, type CommandModule } from "./registry.js";
import { hostNames, resolveId } from "../resolve.js";

/** `sdnctl tunnels list`: a network's GRE tunnel rows, one per direction (ovs-element). */
export const tunnelsCommands: CommandModule = (program, deps) => {
  const tunnels = program.command("tunnels").description("the GRE tunnel mesh of a network");

  withPageOptions(
    tunnels
      .command("list")
      .description("list the network's tunnel rows: one per direction between two of its hosts, by from and to")
      .argument("<networkId>", "network id or name"),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl tunnels list 3f0c...",
        "sdnctl tunnels list 3f0c... --json",
        "sdnctl tunnels list 3f0c... --limit 200",
      ),
    )
    .action(async (networkId, opts, cmd) => {
      const s = await deps.session(cmd);
      networkId = await resolveId(s, "network", networkId);
      const path = `/v1/networks/${encodeURIComponent(networkId)}/tunnels`;
      const names = s.out.json ? new Map<string, string>() : await hostNames(s);
      const host = (id: string) => names.get(id) ?? id;
      await listPages<"tunnels", Tunnel>(s, { path, field: "tunnels" }, opts, (rows) =>
        s.out.table(rows, [
          { header: "FROM", value: (t) => host(t.from) },
          { header: "TO", value: (t) => host(t.to) },
          { header: "REMOTE IP", value: (t) => t.remoteIp },
          { header: "KEY", value: (t) => t.key },
          { header: "PORT", value: (t) => t.port ?? undefined },
          { header: "STATE", value: (t) => t.state },
          { header: "HEALTH", value: (t) => t.health ?? "unknown" },
          { header: "SINCE", value: (t) => t.healthChangedAt ?? undefined },
          { header: "LAST ERROR", value: (t) => t.lastError ?? undefined },
        ]),
      );
    });
};
