import type { PublicIp } from "@sdn/contracts";
import { runMutation, withMutationOptions } from "../mutation.js";
import type { Output } from "../output.js";
import { listPages, withPageOptions } from "../paging.js";
import { examples, type CommandModule } from "./registry.js";

const showPublicIp = (out: Output, p: PublicIp) =>
  out.record([
    ["id", p.id],
    ["ip", p.ip],
    ["network", p.networkId],
    ["source nat", p.isSourceNat ? "yes" : "no"],
    ["range", p.rangeId],
    ["account", p.accountId],
    ["acquired", p.acquiredAt],
  ]);

/** `sdnctl public-ips acquire|list|release`: public addresses held by networks. */
export const publicIpsCommands: CommandModule = (program, deps) => {
  const publicIps = program.command("public-ips").description("public IPv4 addresses of networks");

  withMutationOptions(
    publicIps
      .command("acquire")
      .description("acquire a public IP for a network (its first one is its source NAT address)")
      .requiredOption("--network <id>", "the network that gets the address (required)"),
  )
    .addHelpText("after", examples("sdnctl public-ips acquire --network 3f0c..."))
    .action(async (opts, cmd) => {
      const s = await deps.session(cmd);
      await runMutation<PublicIp>(
        s,
        { method: "POST", path: "/v1/public-ips", body: { networkId: opts.network } },
        opts,
        (p) => showPublicIp(s.out, p),
      );
    });

  withPageOptions(
    publicIps
      .command("list")
      .description("list public IPs (a tenant's own; admins all), ordered by address")
      .option("--network <id>", "only this network's"),
  ).action(async (opts, cmd) => {
    const s = await deps.session(cmd);
    await listPages<"publicIps", PublicIp>(
      s,
      { path: "/v1/public-ips", query: { networkId: opts.network }, field: "publicIps" },
      opts,
      (rows) =>
        s.out.table(rows, [
          { header: "ID", value: (p) => p.id },
          { header: "IP", value: (p) => p.ip },
          { header: "NETWORK", value: (p) => p.networkId },
          { header: "SOURCE NAT", value: (p) => (p.isSourceNat ? "yes" : "no") },
          { header: "ACQUIRED", value: (p) => p.acquiredAt },
        ]),
    );
  });

  withMutationOptions(
    publicIps
      .command("release")
      .description("release a public IP (a network's source NAT address goes last)")
      .argument("<id>", "public IP id (from public-ips list)"),
  ).action(async (id, opts, cmd) => {
    const s = await deps.session(cmd);
    await runMutation<PublicIp>(s, { method: "DELETE", path: `/v1/public-ips/${encodeURIComponent(id)}` }, opts, (p) =>
      showPublicIp(s.out, p),
    );
  });
};
