import Type from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { pageRequestFields } from "../paging.js";
import { NetworkId } from "../resources/networks.js";
import { TunnelList } from "../resources/tunnels.js";

export const ListTunnels = defineCommand({
  service: "ovs-element",
  name: "ListTunnels",
  delivery: "request",
  summary:
    "Lists a network's tunnel rows (one per direction between two of its hosts) with state, port and last error, " +
    "ordered by from and to. A page holds whole tunnel sets (all rows from one host): at most limit rows, more " +
    "only when one host's set alone is larger.",
  request: Type.Object({ networkId: NetworkId, ...pageRequestFields }, { additionalProperties: false }),
  response: TunnelList,
});

export const TUNNEL_COMMANDS = [ListTunnels] as const;
