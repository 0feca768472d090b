import { bindHandler, type BoundHandler, type CommandContext } from "@sdn/bus";
import { AddHost, CommandError, GetHost, ListHosts, RemoveHost } from "@sdn/contracts";
import type { HostRegistry } from "./registry/host-registry.js";

const adminOnly = (ctx: CommandContext): void => {
  if (ctx.role !== "admin") throw new CommandError("FORBIDDEN", "only administrators manage hosts");
};

/** The durable host registry commands: AddHost, RemoveHost, GetHost, ListHosts (admin only). */
export const hostHandlers = (registry: HostRegistry): BoundHandler[] => [
  bindHandler(AddHost, async (req, ctx) => {
    adminOnly(ctx);
    const host = await registry.add(req, ctx.commandId);
    return {
      data: host,
      details: `${host.hypervisor} host ${host.name} is Up: ${host.platform.name} ${host.platform.version}, tunnels on ${host.tunnelInterface.ip}`,
    };
  }),
  bindHandler(RemoveHost, async (req, ctx) => {
    adminOnly(ctx);
    await registry.remove(req.id, ctx.commandId);
    return { data: { id: req.id, removed: true as const }, details: `host ${req.id} removed` };
  }),
  bindHandler(GetHost, async (req, ctx) => {
    adminOnly(ctx);
    const host = await registry.get(req.id);
    return { data: host, details: `host ${host.name} is ${host.state}` };
  }),
  bindHandler(ListHosts, async (_req, ctx) => {
    adminOnly(ctx);
    const hosts = await registry.list();
    return { data: { hosts }, details: `${hosts.length} hosts` };
  }),
];
