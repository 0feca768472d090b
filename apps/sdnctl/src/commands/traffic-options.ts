/** The traffic a firewall or egress rule matches: protocol, ports or ICMP type and code. */
import { Option, type Command, type OptionValues } from "@commander-js/extra-typings";
import { TRAFFIC_PROTOCOLS } from "@sdn/contracts";
import { integerIn, portRange, type PortRange } from "../parsers.js";
import { portsText } from "./rule-commands.js";

const icmpNumber = integerIn(-1, 255);

/** Adds --protocol (required), --ports, --icmp-type and --icmp-code. */
export const withTrafficOptions = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) =>
  cmd
    .addOption(
      new Option("--protocol <protocol>", "tcp, udp, icmp or all (required)")
        .choices(TRAFFIC_PROTOCOLS)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--ports <p[-q]>", "tcp/udp: port or range, e.g. 22 or 8000-8010 (default every port)").argParser(
        portRange,
      ),
    )
    .addOption(new Option("--icmp-type <n>", "icmp: type, -1 for any (default any)").argParser(icmpNumber))
    .addOption(new Option("--icmp-code <n>", "icmp: code, -1 for any (default any)").argParser(icmpNumber));

interface TrafficFlags {
  protocol: (typeof TRAFFIC_PROTOCOLS)[number];
  ports?: PortRange;
  icmpType?: number;
  icmpCode?: number;
}

/** The body fields of the traffic flags; the API checks that they fit the protocol. */
export const trafficBody = (f: TrafficFlags) => ({
  protocol: f.protocol,
  ...(f.ports === undefined ? {} : { startPort: f.ports.start }),
  ...(f.ports?.end === undefined ? {} : { endPort: f.ports.end }),
  ...(f.icmpType === undefined ? {} : { icmpType: f.icmpType }),
  ...(f.icmpCode === undefined ? {} : { icmpCode: f.icmpCode }),
});

interface Traffic {
  protocol: string;
  startPort?: number;
  endPort?: number;
  icmpType?: number;
  icmpCode?: number;
}

/** `tcp 22`, `udp 5000-5009`, `icmp type 8 code -1`, `all`. */
export const trafficText = (t: Traffic): string => {
  const ports = portsText(t.startPort, t.endPort);
  const icmp = [
    ...(t.icmpType === undefined ? [] : [`type ${t.icmpType}`]),
    ...(t.icmpCode === undefined ? [] : [`code ${t.icmpCode}`]),
  ];
  return [t.protocol, ...(ports === undefined ? [] : [ports]), ...icmp].join(" ");
};
