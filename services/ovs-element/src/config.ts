import { BaseConfig } from "@sdn/runtime";
import Type, { type Static } from "@sdn/typebox";

const ms = (fallback: number, minimum: number, description: string) =>
  Type.Integer({ minimum, default: fallback, description });

export const ElementConfig = Type.Object({
  ...BaseConfig.properties,
  SDN_RECONCILE_INTERVAL_MS: ms(60_000, 200, "How often every host's Open vSwitch state is compared and repaired"),
  SDN_TUNNEL_RETRY_MIN_MS: ms(1_000, 50, "First back-off before a Failed tunnel set is applied again"),
  SDN_TUNNEL_RETRY_MAX_MS: ms(60_000, 50, "Longest back-off between retries of a Failed tunnel set"),
  SDN_AGENT_TIMEOUT_MS: ms(30_000, 100, "How long one agent command may take"),
  SDN_MESH_SETTLE_MS: ms(
    500,
    0,
    "How long a mesh pass waits for the plugs of the same network on their way in this replica after the last one moved (received or asking for its pass; a burst shares one pass; at most 8 times this in all)",
  ),
  SDN_MESH_FANOUT: Type.Integer({
    minimum: 1,
    default: 64,
    description: "Agent calls of one mesh pass in flight at once (hosts are applied in parallel up to this)",
  }),
  SDN_UNDERLAY_MTU: Type.Integer({
    // The smallest guest MTU (576) plus the largest overhead (VXLAN, 50).
    minimum: 626,
    maximum: 9216,
    default: 1500,
    description:
      "MTU of the hosts' tunnel network (the agent does not report it); guests get at most this minus the " +
      "encapsulation's overhead (42 bytes for GRE, 50 for VXLAN)",
  }),
});
export type ElementConfig = Static<typeof ElementConfig>;
