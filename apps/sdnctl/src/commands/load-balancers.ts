import { Option } from "@commander-js/extra-typings";
import { LB_ALGORITHMS, type LoadBalancer } from "@sdn/contracts";
import { integerIn, port, repeatable } from "../parsers.js";
import { withMutationOptions } from "../mutation.js";
import { examples, type CommandModule } from "./registry.js";
import { ruleCommands } from "./rule-commands.js";

/** `sdnctl load-balancers create|list|delete`: TCP load balancing from a public IP:port to VMs. */
export const loadBalancersCommands: CommandModule = (program, deps) => {
  const { create, submit } = ruleCommands<LoadBalancer>(program, deps, {
    group: "load-balancers",
    description:
      "TCP load balancers (haproxy on the router): a public IP:port to member VMs (open it with firewall-rules)",
    what: "a load balancer",
    listKey: "loadBalancers",
    columns: [
      { header: "ID", value: (r) => r.id },
      { header: "NAME", value: (r) => r.name },
      { header: "PUBLIC", value: (r) => `${r.publicIp}:${r.publicPort}` },
      { header: "ALGORITHM", value: (r) => r.algorithm },
      { header: "MEMBERS", value: (r) => r.members.map((m) => `${m}:${r.privatePort}`).join(",") },
    ],
    fields: (r) => [
      ["id", r.id],
      ["name", r.name],
      ["network", r.networkId],
      ["public", `${r.publicIp}:${r.publicPort} (${r.publicIpId})`],
      ["algorithm", r.algorithm],
      ["members", r.members.map((m) => `${m}:${r.privatePort}`).join(", ")],
      [
        "health check",
        r.healthCheck === undefined
          ? undefined
          : `every ${r.healthCheck.intervalMs ?? 2000} ms, fall ${r.healthCheck.fall ?? 2}, rise ${r.healthCheck.rise ?? 2}`,
      ],
      ["created", r.createdAt],
    ],
  });

  withMutationOptions(
    create
      .option("--name <name>", "a name, e.g. web")
      .requiredOption("--public-ip <publicIpId>", "a public IP of the network (id from public-ips list; required)")
      .requiredOption("--public-port <port>", "public TCP port (required)", port)
      .requiredOption("--private-port <port>", "the members' port (required)", port)
      .addOption(
        new Option("--algorithm <algorithm>", "how members are picked").choices(LB_ALGORITHMS).default("roundrobin"),
      )
      .addOption(
        new Option("--member <ip>", "a member VM's address on the network; repeat for each (at least one)")
          .argParser(repeatable((ip: string) => ip))
          .makeOptionMandatory(),
      )
      .option("--check-interval-ms <ms>", "health check every (100-3600000; default 2000)", integerIn(100, 3_600_000))
      .option("--check-fall <n>", "failed checks before a member is out (1-100; default 2)", integerIn(1, 100))
      .option("--check-rise <n>", "passed checks before it is back (1-100; default 2)", integerIn(1, 100)),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl load-balancers create 3f0c... --name web --public-ip pip-... --public-port 80 --private-port 8080 \\\n" +
          "      --member 10.1.0.17 --member 10.1.0.18 --algorithm leastconn",
      ),
    )
    .action(async (networkId, opts, cmd) => {
      const healthCheck = {
        ...(opts.checkIntervalMs === undefined ? {} : { intervalMs: opts.checkIntervalMs }),
        ...(opts.checkFall === undefined ? {} : { fall: opts.checkFall }),
        ...(opts.checkRise === undefined ? {} : { rise: opts.checkRise }),
      };
      const body = {
        ...(opts.name === undefined ? {} : { name: opts.name }),
        publicIpId: opts.publicIp,
        publicPort: opts.publicPort,
        privatePort: opts.privatePort,
        algorithm: opts.algorithm,
        members: opts.member,
        ...(Object.keys(healthCheck).length === 0 ? {} : { healthCheck }),
      };
      await submit(cmd, networkId, body, opts);
    });
};
