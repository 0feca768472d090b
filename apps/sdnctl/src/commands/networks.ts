import { Option } from "@commander-js/extra-typings";
import { ENCAPSULATIONS, type Network } from "@sdn/contracts";
import { runMutation, withMutationOptions } from "../mutation.js";
import type { Output } from "../output.js";
import { listPages, withPageOptions } from "../paging.js";
import { commaList, positiveInteger } from "../parsers.js";
import { examples, type CommandModule } from "./registry.js";
import { resolveId } from "../resolve.js";

const showNetwork = (out: Output, n: Network) =>
  out.record([
    ["id", n.id],
    ["name", n.name],
    ["description", n.description],
    ["account", n.accountId],
    ["state", n.state],
    ["cidr", n.cidr],
    ["gateway", n.gateway],
    ["dns", n.dns.join(", ")],
    ["domain", n.domain],
    ["mtu", n.mtu],
    ["encapsulation", n.encapsulation],
    ["gre key", n.greKey],
    ["vni", n.vni],
    ["broadcast uri", n.broadcastUri],
    [
      "excluded",
      n.excludedRanges.length === 0 ? undefined : n.excludedRanges.map((r) => `${r.start}-${r.end}`).join(", "),
    ],
    ["created", n.createdAt],
    ["updated", n.updatedAt],
  ]);

const path = (id: string) => `/v1/networks/${encodeURIComponent(id)}`;
const dnsOption = () =>
  new Option("--dns <servers>", "DNS servers for guests, comma-separated (at most 3)").argParser(commaList);
const domainOption = () => new Option("--domain <domain>", "DNS domain of the guests (default: <name>.internal)");
const mtuOption = () => new Option("--mtu <bytes>", "guest MTU (576-9000; default 1450)").argParser(positiveInteger);

/** `sdnctl networks create|list|get|update|delete`: guest networks (network-guru). */
export const networksCommands: CommandModule = (program, deps) => {
  const networks = program.command("networks").description("isolated guest networks");

  withMutationOptions(
    networks
      .command("create")
      .description(
        "design a guest network (state Allocated; its GRE key, or VNI for vxlan, comes when it is implemented)",
      )
      .argument("<name>", "name, e.g. web-tier")
      .requiredOption("--cidr <cidr>", "IPv4 prefix, e.g. 10.1.0.0/24 (required)")
      .option("--gateway <ip>", "gateway address (default: the first usable address)")
      .addOption(dnsOption())
      .addOption(domainOption())
      .addOption(mtuOption())
      .addOption(
        new Option("--encapsulation <kind>", "overlay encapsulation, fixed once designed (default gre)").choices(
          ENCAPSULATIONS,
        ),
      )
      .option("--description <text>", "free text")
      .option("--account <id>", "owner account (admins only; a tenant's networks are its own)"),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl networks create web-tier --cidr 10.1.0.0/24 --dns 1.1.1.1,9.9.9.9",
        "sdnctl networks create db --cidr 10.2.0.0/24 --account 3b0c... --wait --json",
        "sdnctl networks create ecmp --cidr 10.3.0.0/24 --encapsulation vxlan",
      ),
    )
    .action(async (name, opts, cmd) => {
      const s = await deps.session(cmd);
      const body = {
        name,
        cidr: opts.cidr,
        ...(opts.gateway === undefined ? {} : { gateway: opts.gateway }),
        ...(opts.dns === undefined ? {} : { dns: opts.dns }),
        ...(opts.domain === undefined ? {} : { domain: opts.domain }),
        ...(opts.mtu === undefined ? {} : { mtu: opts.mtu }),
        ...(opts.encapsulation === undefined ? {} : { encapsulation: opts.encapsulation }),
        ...(opts.description === undefined ? {} : { description: opts.description }),
        ...(opts.account === undefined ? {} : { accountId: opts.account }),
      };
      await runMutation<Network>(s, { method: "POST", path: "/v1/networks", body }, opts, (n) => showNetwork(s.out, n));
    });

  withPageOptions(
    networks
      .command("list")
      .description("list networks (a tenant's own; admins all, or one account's), ordered by id")
      .option("--account <id>", "only this account's (admins)"),
  )
    .addHelpText("after", examples("sdnctl networks list", "sdnctl networks list --limit 50"))
    .action(async (opts, cmd) => {
      const s = await deps.session(cmd);
      await listPages<"networks", Network>(
        s,
        { path: "/v1/networks", query: { accountId: opts.account }, field: "networks" },
        opts,
        (rows) =>
          s.out.table(rows, [
            { header: "ID", value: (n) => n.id },
            { header: "NAME", value: (n) => n.name },
            { header: "STATE", value: (n) => n.state },
            { header: "CIDR", value: (n) => n.cidr },
            { header: "GATEWAY", value: (n) => n.gateway },
            { header: "ENCAP", value: (n) => n.encapsulation },
            { header: "GRE KEY", value: (n) => n.greKey },
            { header: "VNI", value: (n) => n.vni },
            { header: "ACCOUNT", value: (n) => n.accountId },
          ]),
      );
    });

  networks
    .command("get")
    .description("show a network")
    .argument("<id>", "network id or name")
    .action(async (id, _opts, cmd) => {
      const s = await deps.session(cmd);
      const { client, out } = s;
      id = await resolveId(s, "network", id);
      const network = await client.get<Network>(path(id));
      out.result(network, (n) => showNetwork(out, n));
    });

  withMutationOptions(
    networks
      .command("update")
      .description("change a network's name, description, DNS servers, DNS domain or MTU")
      .argument("<id>", "network id or name")
      .option("--name <name>", "new name")
      .option("--description <text>", "new description")
      .addOption(dnsOption())
      .addOption(domainOption())
      .addOption(mtuOption()),
  )
    .addHelpText("after", examples("sdnctl networks update 3f0c... --mtu 1400 --dns 10.1.0.1"))
    .action(async (id, opts, cmd) => {
      const s = await deps.session(cmd);
      id = await resolveId(s, "network", id);
      const body = {
        ...(opts.name === undefined ? {} : { name: opts.name }),
        ...(opts.description === undefined ? {} : { description: opts.description }),
        ...(opts.dns === undefined ? {} : { dns: opts.dns }),
        ...(opts.domain === undefined ? {} : { domain: opts.domain }),
        ...(opts.mtu === undefined ? {} : { mtu: opts.mtu }),
      };
      await runMutation<Network>(s, { method: "PATCH", path: path(id), body }, opts, (n) => showNetwork(s.out, n));
    });

  withMutationOptions(
    networks
      .command("delete")
      .description("delete a network (refused while NIC addresses or public IPs remain on it)")
      .argument("<id>", "network id or name"),
  ).action(async (id, opts, cmd) => {
    const s = await deps.session(cmd);
    id = await resolveId(s, "network", id);
    await runMutation<{ id: string; name: string; releasedGreKey?: number; releasedVni?: number }>(
      s,
      { method: "DELETE", path: path(id) },
      opts,
      (d) =>
        s.out.record([
          ["deleted", d.id],
          ["name", d.name],
          ["released gre key", d.releasedGreKey],
          ["released vni", d.releasedVni],
        ]),
    );
  });
};
