import type { CommandContext, EventPublisher } from "@sdn/bus";
import { CommandError, NicUpdated, type Nic, type RequestOf, type UpdateNic } from "@sdn/contracts";
import type { Collaborators } from "./collaborators.js";
import { notFound } from "./element-errors.js";
import { nicKey, type ElementStore } from "./store.js";

type GuestData = Pick<Nic, "hostname" | "userData" | "publicKeys">;

/** The guest-data fields of a request or NIC, without the absent or empty ones (empty means none). */
export const guestData = (from: GuestData): GuestData => ({
  ...(from.hostname === undefined ? {} : { hostname: from.hostname }),
  ...(from.userData === undefined || from.userData === "" ? {} : { userData: from.userData }),
  ...(from.publicKeys === undefined || from.publicKeys.length === 0 ? {} : { publicKeys: from.publicKeys }),
});

/**
 * Changes what the network's virtual router serves a guest NIC (UpdateNic): a field left out
 * is kept, an empty one removed. The NIC record changes by compare-and-swap, so a plug or
 * unplug racing with it is never overwritten; NicUpdated tells the vr-manager to push.
 */
export const updateGuestData = async (
  d: { store: ElementStore; peers: Collaborators; events: EventPublisher },
  req: RequestOf<typeof UpdateNic>,
  ctx: CommandContext,
): Promise<Nic> => {
  const network = await d.peers.network(req.networkId, ctx);
  const key = nicKey(network.id, req.nicId);
  const found = await d.store.nics.get(key);
  if (found === undefined || found.value.state === "Unplugging") throw notFound("NIC", req.nicId);
  if (found.value.role === "router") {
    throw new CommandError("UNPROCESSABLE", `NIC ${req.nicId} is a router's NIC: it has no guest data`);
  }
  const updated = await d.store.nics.update(key, (cur) => {
    if (cur === undefined) return undefined;
    const { hostname: _h, userData: _u, publicKeys: _p, ...rest } = cur;
    return {
      ...rest,
      ...guestData({
        hostname: req.hostname ?? cur.hostname,
        userData: req.userData ?? cur.userData,
        publicKeys: req.publicKeys ?? cur.publicKeys,
      }),
      updatedAt: new Date().toISOString(),
    };
  });
  if (updated === undefined) throw notFound("NIC", req.nicId);
  await d.events.publish(
    NicUpdated,
    { nic: updated },
    { accountId: updated.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.NicUpdated` },
  );
  return updated;
};
