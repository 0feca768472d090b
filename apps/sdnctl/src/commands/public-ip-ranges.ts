import type { PublicIpRange } from "@sdn/contracts";
import { runMutation, withMutationOptions } from "../mutation.js";
import type { Output } from "../output.js";
import { examples, type CommandModule } from "./registry.js";

const showRange = (out: Output, r: PublicIpRange) =>
  out.record([
    ["id", r.id],
    ["name", r.name],
    ["cidr", r.cidr],
    ["gateway", r.gateway],
    ["addresses", `${r.startIp}-${r.endIp} (${r.size})`],
    ["created", r.createdAt],
  ]);

/** `sdnctl public-ip-ranges create|list|delete`: the public addresses tenants draw from (admin). */
export const publicIpRangesCommands: CommandModule = (program, deps) => {
  const ranges = program.command("public-ip-ranges").description("public IP ranges tenants acquire from (admin)");

  withMutationOptions(
    ranges
      .command("create")
      .description("define a public IP range")
      .requiredOption("--cidr <cidr>", "public subnet, e.g. 203.0.113.0/24 (required)")
      .requiredOption("--gateway <ip>", "upstream gateway, inside the CIDR and outside the range (required)")
      .requiredOption("--start <ip>", "first address handed out (required)")
      .requiredOption("--end <ip>", "last address handed out, inclusive (required)")
      .option("--name <name>", "name shown to people"),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl public-ip-ranges create --cidr 203.0.113.0/24 --gateway 203.0.113.1 --start 203.0.113.10 --end 203.0.113.99",
      ),
    )
    .action(async (opts, cmd) => {
      const s = await deps.session(cmd);
      const body = {
        cidr: opts.cidr,
        gateway: opts.gateway,
        startIp: opts.start,
        endIp: opts.end,
        ...(opts.name === undefined ? {} : { name: opts.name }),
      };
      await runMutation<PublicIpRange>(s, { method: "POST", path: "/v1/public-ip-ranges", body }, opts, (r) =>
        showRange(s.out, r),
      );
    });

  ranges
    .command("list")
    .description("list public IP ranges")
    .action(async (_opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<{ ranges: PublicIpRange[] }>("/v1/public-ip-ranges");
      out.result(body, (b) =>
        out.table(b.ranges, [
          { header: "ID", value: (r) => r.id },
          { header: "NAME", value: (r) => r.name },
          { header: "CIDR", value: (r) => r.cidr },
          { header: "GATEWAY", value: (r) => r.gateway },
          { header: "FIRST", value: (r) => r.startIp },
          { header: "LAST", value: (r) => r.endIp },
          { header: "SIZE", value: (r) => r.size },
        ]),
      );
    });

  withMutationOptions(
    ranges
      .command("delete")
      .description("delete a public IP range (refused while addresses of it are held)")
      .argument("<id>", "range id"),
  ).action(async (id, opts, cmd) => {
    const s = await deps.session(cmd);
    await runMutation<PublicIpRange>(
      s,
      { method: "DELETE", path: `/v1/public-ip-ranges/${encodeURIComponent(id)}` },
      opts,
      (r) => showRange(s.out, r),
    );
  });
};
