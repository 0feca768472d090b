import { HostProgramError } from "../errors.js";

/** A XAPI call, its failures translated as the driver's are. */
export type XapiCall = <T>(method: string, ...params: unknown[]) => Promise<T>;

type Rec = Record<string, unknown>;
const NETWORK_TAG = "sdn-network-id";
/** network.other_config key marking that a host of the pool uses the network's bridge. */
const attachedKey = (hostUuid: string): string => `sdn-attached-${hostUuid}`;

/** The pool network that stands for an SDN network (tagged with its id), if there is one. */
export const findNetwork = async (call: XapiCall, networkId: string): Promise<[string, Rec] | undefined> => {
  const networks = await call<Record<string, Rec>>("network.get_all_records");
  return Object.entries(networks).find(([, n]) => (n["other_config"] as Rec)?.[NETWORK_TAG] === networkId);
};

/**
 * Creates the SDN network's pool network if the pool has none, attaches it to the host
 * (xcp-networkd creates its bridge) and marks that the host uses it; answers the bridge.
 */
export const attachNetwork = async (
  call: XapiCall,
  host: { ref: string; uuid: string },
  networkId: string,
): Promise<string> => {
  let network = await findNetwork(call, networkId);
  if (network === undefined) {
    const ref = await call<string>("network.create", {
      name_label: `sdn-${networkId}`,
      name_description: "GRE overlay network of the SDN controller",
      MTU: "1500",
      other_config: { [NETWORK_TAG]: networkId, assume_network_is_shared: "true" },
      tags: [],
    });
    network = [ref, await call<Rec>("network.get_record", ref)];
  }
  const [netRef, net] = network;
  await call("network.attach", netRef, host.ref);
  const key = attachedKey(host.uuid);
  // add_to_other_config refuses an existing key (MAP_DUPLICATE_KEY): set it once per host.
  if ((net["other_config"] as Rec | undefined)?.[key] === undefined) {
    await call("network.add_to_other_config", netRef, key, "true").catch((err: unknown) => {
      if (!(err instanceof HostProgramError && err.hostError === "MAP_DUPLICATE_KEY")) throw err;
    });
  }
  return String(net["bridge"]);
};

/**
 * Marks that the host no longer uses the SDN network's pool network. The network is
 * pool-wide: it goes once no host uses its bridge and no VIF is on it. Answers its bridge;
 * undefined when the pool has no such network.
 */
export const detachNetwork = async (
  call: XapiCall,
  hostUuid: string,
  networkId: string,
): Promise<string | undefined> => {
  const network = await findNetwork(call, networkId);
  if (network === undefined) return undefined;
  const [netRef, net] = network;
  await call("network.remove_from_other_config", netRef, attachedKey(hostUuid));
  const left = await call<Rec>("network.get_record", netRef);
  const inUse = Object.keys(left["other_config"] ?? {}).some((k) => k.startsWith(attachedKey("")));
  if (!inUse && (left["VIFs"] as string[]).length === 0) await call("network.destroy", netRef);
  return String(net["bridge"]);
};
