import { defaultDomain, type GuestEntry, type GuestServices, type Network, type Nic } from "@sdn/contracts";

/** What a router serves one network's guests (the router program's input; schemas in contracts). */
export type { GuestEntry, GuestServices };

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A NIC's hostname: the one set, else its VM id when that is a DNS label, else host-<address with dashes>. */
export const hostnameOf = (nic: Pick<Nic, "hostname" | "vmId" | "ip">): string =>
  (nic.hostname ?? (LABEL.test(nic.vmId) ? nic.vmId : `host-${nic.ip.replaceAll(".", "-")}`)).toLowerCase();

/**
 * The network's guest services from the NICs the ovs-element plugged: a static lease per
 * plugged guest NIC (the router's own NIC gives the MTU), names made unique (a hostname
 * another NIC took first gets its address and a number as suffix), and each guest's public
 * address (its static NAT, else the network's source NAT).
 */
export const guestServicesOf = (
  network: Network,
  nics: readonly Nic[],
  publicIpOf: (privateIp: string) => string | null,
  leaseSeconds: number,
): GuestServices => {
  const plugged = nics.filter((n) => n.state === "Plugged");
  const guests = plugged.filter((n) => n.role === "guest").sort((a, b) => (a.id < b.id ? -1 : 1));
  const taken = new Set<string>();
  const entries = guests.map((n): GuestEntry => {
    const wanted = hostnameOf(n);
    let hostname = wanted;
    for (let i = 1; taken.has(hostname); i++) hostname = `${wanted.slice(0, 40)}-${n.ip.replaceAll(".", "-")}-${i}`;
    taken.add(hostname);
    return {
      mac: n.mac,
      ip: n.ip,
      hostname,
      instanceId: n.vmId,
      publicIp: publicIpOf(n.ip),
      userData: n.userData ?? null,
      publicKeys: n.publicKeys ?? [],
    };
  });
  const mtus = plugged.map((n) => n.mtu);
  return {
    domain: network.domain ?? defaultDomain(network),
    upstreams: network.dns.filter((s) => s !== network.gateway),
    mtu: mtus.length > 0 ? Math.min(...mtus) : network.mtu,
    leaseSeconds,
    routes: [],
    guests: entries,
  };
};
