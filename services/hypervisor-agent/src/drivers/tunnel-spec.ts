import { CommandError, type ApplyTunnels, type RequestOf } from "@sdn/contracts";
import type { TunnelSpec } from "@sdn/ovsdb";

/**
 * The tunnels an ApplyTunnels asks for: GRE with greKey (the request as it always was), or
 * VXLAN with vni. A request whose key does not match its encapsulation is refused, never
 * guessed at: a VNI taken for a GRE key would join another network's GRE segment.
 */
export const tunnelOf = (req: RequestOf<typeof ApplyTunnels>): TunnelSpec => {
  const type = req.encapsulation ?? "gre";
  const [key, other, field, otherField] =
    type === "vxlan" ? [req.vni, req.greKey, "vni", "greKey"] : [req.greKey, req.vni, "greKey", "vni"];
  if (key === undefined || other !== undefined) {
    throw new CommandError(
      "INVALID_COMMAND",
      `a ${type} tunnel set takes ${field}${other === undefined ? "" : `, not ${otherField}`}`,
      { issues: [{ path: `/${key === undefined ? field : otherField}`, message: `${type} tunnels need ${field}` }] },
    );
  }
  return { type, key };
};
