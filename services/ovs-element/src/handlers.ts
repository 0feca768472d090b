import { bindHandler, pageData, pageNote, type BoundHandler } from "@sdn/bus";
import {
  CanHandle,
  ListNics,
  ListProviders,
  ListTunnels,
  PlugNic,
  PROVIDERS,
  UnplugNic,
  UpdateNic,
} from "@sdn/contracts";
import type { Collaborators } from "./collaborators.js";
import type { NicManager } from "./nic-manager.js";
import { canHandle } from "./providers.js";
import { tunnelFor } from "./tenant-view.js";
import { summarise, type TunnelHealthBook } from "./tunnel-health.js";

const summary = (main: string, notes: string[]) => (notes.length === 0 ? main : `${main}; ${notes.join("; ")}`);

/** The ovs-element's durable command handlers. */
export const elementHandlers = (nics: NicManager, peers: Collaborators, health: TunnelHealthBook): BoundHandler[] => [
  bindHandler(ListProviders, async () => ({
    data: { providers: [...PROVIDERS] },
    details: `${PROVIDERS.length} providers: ${PROVIDERS.map((p) => p.name).join(", ")}`,
  })),
  bindHandler(CanHandle, async (req, ctx) => {
    const network = await peers.network(req.networkId, ctx);
    const verdict = canHandle(network, req.service, req.provider);
    return {
      data: verdict,
      details: verdict.canHandle
        ? `${verdict.provider} handles ${req.service} on network ${network.name}`
        : `${verdict.provider} cannot handle ${req.service}: ${verdict.reason}`,
    };
  }),
  bindHandler(PlugNic, async (req, ctx) => {
    const { nic, notes } = await nics.plug(req, ctx);
    return {
      data: nic,
      details: summary(`NIC ${nic.id} (${nic.ip}, ${nic.mac}) plugged on ${nic.bridge} of host ${nic.hostId}`, notes),
    };
  }),
  bindHandler(UnplugNic, async (req, ctx) => {
    const { nic, notes } = await nics.unplug(req.networkId, req.nicId, ctx);
    return { data: nic, details: summary(`NIC ${nic.id} (${nic.ip}) unplugged from host ${nic.hostId}`, notes) };
  }),
  bindHandler(UpdateNic, async (req, ctx) => {
    const nic = await nics.update(req, ctx);
    return { data: nic, details: `NIC ${nic.id} (${nic.ip}) guest data updated` };
  }),
  bindHandler(ListNics, async (req, ctx) => {
    const page = await nics.list(req.networkId, ctx, req);
    return { data: pageData("nics", page), details: `${page.items.length} NIC(s)${pageNote(page)}` };
  }),
  bindHandler(ListTunnels, async (req, ctx) => {
    const found = await nics.tunnels(req.networkId, ctx, req);
    const merged = await health.merge(req.networkId, found.items);
    const page = { ...found, items: merged.map((t) => tunnelFor(ctx.role, t)) };
    const up = page.items.filter((t) => t.state === "Established").length;
    const h = summarise(page.items);
    return {
      data: pageData("tunnels", page),
      details: `${page.items.length} tunnel(s), ${up} established, ${h.up} up, ${h.down} down${pageNote(page)}`,
    };
  }),
];
