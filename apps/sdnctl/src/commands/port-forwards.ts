import { Option } from "@commander-js/extra-typings";
import { TRANSPORT_PROTOCOLS, type PortForward } from "@sdn/contracts";
import { portRange } from "../parsers.js";
import { withMutationOptions } from "../mutation.js";
import { examples, type CommandModule } from "./registry.js";
import { portsText, ruleCommands } from "./rule-commands.js";

/** `sdnctl port-forwards create|list|delete`: public address:ports to a VM's address:ports (DNAT). */
export const portForwardsCommands: CommandModule = (program, deps) => {
  const { create, submit } = ruleCommands<PortForward>(program, deps, {
    group: "port-forwards",
    description: "port forwarding: a public IP's ports to a VM's ports (open them with firewall-rules)",
    what: "a port forward",
    listKey: "portForwards",
    columns: [
      { header: "ID", value: (r) => r.id },
      { header: "PUBLIC IP", value: (r) => r.publicIp },
      { header: "PROTOCOL", value: (r) => r.protocol },
      { header: "PUBLIC PORTS", value: (r) => portsText(r.publicStartPort, r.publicEndPort) },
      { header: "PRIVATE IP", value: (r) => r.privateIp },
      { header: "PRIVATE PORTS", value: (r) => portsText(r.privateStartPort, r.privateEndPort) },
    ],
    fields: (r) => [
      ["id", r.id],
      ["network", r.networkId],
      ["public ip", `${r.publicIp} (${r.publicIpId})`],
      ["protocol", r.protocol],
      ["public ports", portsText(r.publicStartPort, r.publicEndPort)],
      ["private ip", r.privateIp],
      ["private ports", portsText(r.privateStartPort, r.privateEndPort)],
      ["created", r.createdAt],
    ],
  });

  withMutationOptions(
    create
      .requiredOption("--public-ip <publicIpId>", "a public IP of the network (id from public-ips list; required)")
      .addOption(
        new Option("--protocol <protocol>", "tcp or udp (required)").choices(TRANSPORT_PROTOCOLS).makeOptionMandatory(),
      )
      .requiredOption("--public-port <p[-q]>", "public port or range, e.g. 8080 or 8000-8010 (required)", portRange)
      .requiredOption("--private-ip <ip>", "the VM's address on the network (required)")
      .requiredOption(
        "--private-port <p[-q]>",
        "private port or range, as long as the public one (required)",
        portRange,
      ),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl port-forwards create 3f0c... --public-ip pip-203-0-113-10-1a2b3c4d --protocol tcp \\\n" +
          "      --public-port 8080 --private-ip 10.1.0.17 --private-port 80",
        "sdnctl port-forwards create 3f0c... --public-ip pip-... --protocol udp --public-port 5000-5009 \\\n" +
          "      --private-ip 10.1.0.17 --private-port 6000-6009 --json",
      ),
    )
    .action(async (networkId, opts, cmd) => {
      const body = {
        publicIpId: opts.publicIp,
        protocol: opts.protocol,
        publicStartPort: opts.publicPort.start,
        ...(opts.publicPort.end === undefined ? {} : { publicEndPort: opts.publicPort.end }),
        privateIp: opts.privateIp,
        privateStartPort: opts.privatePort.start,
        ...(opts.privatePort.end === undefined ? {} : { privateEndPort: opts.privatePort.end }),
      };
      await submit(cmd, networkId, body, opts);
    });
};
