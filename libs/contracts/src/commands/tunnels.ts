import Type from "typebox";
import { defineCommand } from "../definitions.js";
import { NetworkId } from "../resources/networks.js";
import { TunnelList } from "../resources/tunnels.js";

export const ListTunnels = defineCommand({
  service: "ovs-element",
  name: "ListTunnels",
  delivery: "durable",
  summary:
    "Lists a network's tunnel rows (one per direction between two of its hosts) with state, port and last error.",
  request: Type.Object({ networkId: NetworkId }, { additionalProperties: false }),
  response: TunnelList,
});

export const TUNNEL_COMMANDS = [ListTunnels] as const;
