import type { ListVms, ResponseOf, TunnelInterface } from "@sdn/contracts";

type Rec = Record<string, unknown>;
const NULL_REF = "OpaqueRef:NULL";

const bridgeOf = (network: Rec | undefined): string | null =>
  typeof network?.["bridge"] === "string" && network["bridge"] !== "" ? network["bridge"] : null;

/** The guests running on a host, from XAPI's VM, VIF and network records. */
export const guestsOf = (
  hostRef: string,
  vms: Record<string, Rec>,
  vifs: Record<string, Rec>,
  networks: Record<string, Rec>,
): ResponseOf<typeof ListVms>["vms"] =>
  Object.entries(vms)
    .filter(
      ([, v]) =>
        v["is_a_template"] !== true &&
        v["is_control_domain"] !== true &&
        v["is_a_snapshot"] !== true &&
        v["resident_on"] === hostRef,
    )
    .map(([ref, v]) => ({
      id: String(v["uuid"]),
      name: String(v["name_label"]),
      powerState: String(v["power_state"]),
      nics: Object.values(vifs)
        .filter((n) => n["VM"] === ref)
        .map((n) => ({
          // The port Xen creates in dom0 for the VIF: vif<domid>.<device>.
          device: `vif${String(v["domid"])}.${String(n["device"])}`,
          mac: typeof n["MAC"] === "string" ? n["MAC"] : null,
          bridge: n["network"] === NULL_REF ? null : bridgeOf(networks[n["network"] as string]),
        })),
    }));

/** The dom0 ports of a guest running on the host (vif<domid>.<device>, tap<domid>.<device>); none for others. */
export const vmDevices = (
  hostRef: string,
  vmId: string | undefined,
  vms: Record<string, Rec>,
  vifs: Record<string, Rec>,
): Set<string> => {
  const vm = Object.entries(vms).find(
    ([, v]) => v["uuid"] === vmId && v["resident_on"] === hostRef && v["is_control_domain"] !== true,
  );
  if (vm === undefined) return new Set();
  return new Set(
    Object.values(vifs)
      .filter((n) => n["VM"] === vm[0])
      .flatMap((n) => ["vif", "tap"].map((kind) => `${kind}${String(vm[1]["domid"])}.${String(n["device"])}`)),
  );
};

const prefixOf = (netmask: string): number =>
  netmask.split(".").reduce((n, octet) => n + (Number(octet) >>> 0).toString(2).replace(/0/g, "").length, 0);

/** The tunnel endpoint a PIF gives: its address, and its network's bridge as the device. */
export const tunnelInterfaceOf = (pif: Rec, networks: Record<string, Rec>): TunnelInterface => {
  const network = networks[pif["network"] as string] ?? {};
  const netmask = String(pif["netmask"]);
  const foundLabel = network["name_label"];
  return {
    ...(typeof foundLabel === "string" && foundLabel !== "" ? { label: foundLabel } : {}),
    device: String(network["bridge"] ?? pif["device"]),
    ip: String(pif["IP"]),
    netmask,
    prefixLength: prefixOf(netmask),
    mac: typeof pif["MAC"] === "string" && pif["MAC"] !== "" ? pif["MAC"] : null,
  };
};
