import { bindHandler, pageData, pageNote, type BoundHandler, type CommandHandler } from "@sdn/bus";
import {
  AcquirePublicIp,
  AddExcludedRange,
  CreateNetwork,
  CreatePublicIpRange,
  DeleteNetwork,
  DeletePublicIpRange,
  GetNetwork,
  GetNetworkTunnelSecret,
  ImplementNetwork,
  ListNetworks,
  ListNicAddresses,
  ListPublicIpRanges,
  ListPublicIps,
  ReleaseNicAddress,
  RecordTunnelHealth,
  ReleasePublicIp,
  RemoveExcludedRange,
  ReserveNicAddress,
  ReserveNicAddresses,
  ShutdownNetwork,
  UpdateNetwork,
  type CommandDefinition,
} from "@sdn/contracts";
import type { Guru } from "./guru.js";
import { toNetwork } from "./network-manager.js";
import { requireAdmin } from "./tenancy.js";

/**
 * Binds a handler that may write network records: it answers once this replica's watched
 * copy shows what the bucket holds (whether it succeeded or not), so that a GetNetwork this
 * replica answers next sees the write.
 */
const writingNetworks = <C extends CommandDefinition>(guru: Guru, definition: C, handle: CommandHandler<C>) =>
  bindHandler(definition, async (req, ctx) => {
    try {
      return await handle(req, ctx);
    } finally {
      await guru.networkView.sync();
    }
  });

/** The network-guru's durable command handlers; each answer carries a one-line summary. */
export const guruHandlers = (guru: Guru): BoundHandler[] => [
  writingNetworks(guru, CreateNetwork, async (req, ctx) => {
    const n = await guru.networks.design(req, ctx);
    return { data: n, details: `network ${n.name} (${n.id}) designed on ${n.cidr}, gateway ${n.gateway}` };
  }),
  bindHandler(GetNetwork, async (req, ctx) => {
    const n = toNetwork(await guru.networks.read(req.networkId, ctx));
    return { data: n, details: `network ${n.name} is ${n.state}` };
  }),
  bindHandler(ListNetworks, async (req, ctx) => {
    const page = await guru.networks.list(ctx, req.accountId, req);
    return { data: pageData("networks", page), details: `${page.items.length} network(s)${pageNote(page)}` };
  }),
  writingNetworks(guru, UpdateNetwork, async (req, ctx) => {
    const n = await guru.networks.update(req, ctx);
    return { data: n, details: `network ${n.name} updated` };
  }),
  writingNetworks(guru, ImplementNetwork, async (req, ctx) => {
    const n = await guru.networks.implement(req.networkId, ctx);
    const on = n.encapsulation === "vxlan" ? `VXLAN VNI ${n.vni}` : `GRE key ${n.greKey}`;
    return { data: n, details: `network ${n.name} is implemented on ${on}` };
  }),
  writingNetworks(guru, ShutdownNetwork, async (req, ctx) => {
    const n = await guru.networks.shutdown(req.networkId, ctx);
    return { data: n, details: `network ${n.name} is shut down` };
  }),
  writingNetworks(guru, DeleteNetwork, async (req, ctx) => {
    const d = await guru.networks.delete(req.networkId, ctx);
    return { data: d, details: `network ${d.name} (${d.id}) deleted` };
  }),
  bindHandler(ReserveNicAddress, async (req, ctx) => {
    const a = await guru.guestIpam.reserve(req, ctx);
    return { data: a, details: `NIC ${a.nicId} holds ${a.ip}/${a.prefixLength}` };
  }),
  bindHandler(ReserveNicAddresses, async (req, ctx) => {
    const r = await guru.guestIpam.reserveMany(req, ctx);
    const refused = r.nics.filter((n) => n.error !== undefined).length;
    return {
      data: r,
      details: `${r.nics.length - refused} of ${r.nics.length} NIC(s) hold an address${refused > 0 ? `, ${refused} refused` : ""}`,
    };
  }),
  bindHandler(ReleaseNicAddress, async (req, ctx) => {
    const ip = await guru.guestIpam.release(req.networkId, req.nicId, ctx);
    return {
      data: { networkId: req.networkId, nicId: req.nicId, ip },
      details: ip === null ? `NIC ${req.nicId} held no address` : `NIC ${req.nicId} released ${ip}`,
    };
  }),
  bindHandler(ListNicAddresses, async (req, ctx) => {
    const page = await guru.guestIpam.list(req.networkId, ctx, req);
    return { data: pageData("addresses", page), details: `${page.items.length} address(es) reserved${pageNote(page)}` };
  }),
  writingNetworks(guru, AddExcludedRange, async (req, ctx) => {
    requireAdmin(ctx, "AddExcludedRange");
    const n = await guru.guestIpam.addExclusion(req, ctx);
    return { data: n, details: `${req.start}-${req.end} excluded from network ${n.name}` };
  }),
  writingNetworks(guru, RemoveExcludedRange, async (req, ctx) => {
    requireAdmin(ctx, "RemoveExcludedRange");
    const n = await guru.guestIpam.removeExclusion(req, ctx);
    return { data: n, details: `${req.start}-${req.end} is no longer excluded from network ${n.name}` };
  }),
  bindHandler(CreatePublicIpRange, async (req, ctx) => {
    requireAdmin(ctx, "CreatePublicIpRange");
    const r = await guru.publicIpam.createRange(req, ctx);
    return { data: r, details: `public IP range ${r.startIp}-${r.endIp} (${r.size} addresses) created` };
  }),
  bindHandler(ListPublicIpRanges, async (_req, ctx) => {
    requireAdmin(ctx, "ListPublicIpRanges");
    const { ranges } = await guru.publicIpam.ranges();
    return { data: { ranges }, details: `${ranges.length} public IP range(s)` };
  }),
  bindHandler(DeletePublicIpRange, async (req, ctx) => {
    requireAdmin(ctx, "DeletePublicIpRange");
    const r = await guru.publicIpam.deleteRange(req.rangeId);
    return { data: r, details: `public IP range ${r.startIp}-${r.endIp} deleted` };
  }),
  bindHandler(AcquirePublicIp, async (req, ctx) => {
    const p = await guru.publicIpam.acquire(req.networkId, ctx);
    return { data: p, details: `network ${p.networkId} acquired ${p.ip}${p.isSourceNat ? " (source NAT)" : ""}` };
  }),
  bindHandler(ReleasePublicIp, async (req, ctx) => {
    const p = await guru.publicIpam.release(req.publicIpId, ctx);
    return { data: p, details: `${p.ip} released` };
  }),
  bindHandler(ListPublicIps, async (req, ctx) => {
    const page = await guru.publicIpam.list(ctx, req.networkId, req);
    return { data: pageData("publicIps", page), details: `${page.items.length} public IP(s)${pageNote(page)}` };
  }),
  bindHandler(GetNetworkTunnelSecret, async (req, ctx) => {
    requireAdmin(ctx, "GetNetworkTunnelSecret");
    const s = await guru.networks.tunnelSecret(req.networkId, ctx);
    // The details line is logged and audited: it names the network, never the key.
    return { data: { ...s, encryption: "ipsec" as const }, details: `network ${req.networkId}: sealed IPsec key` };
  }),
  writingNetworks(guru, RecordTunnelHealth, async (req, ctx) => {
    requireAdmin(ctx, "RecordTunnelHealth");
    const recorded = await guru.networks.recordTunnelHealth(req.networkId, req.tunnelHealth, ctx);
    const h = req.tunnelHealth;
    return {
      data: { recorded },
      details: `network ${req.networkId} tunnels ${h.state}: ${h.up} up, ${h.down} down, ${h.unknown} unknown`,
    };
  }),
];
