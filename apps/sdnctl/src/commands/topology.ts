import type { Network, Nic, Router, Tunnel } from "@sdn/contracts";
import { getAllPages, hostNames, listAll, listIfAllowed, resolveId } from "../resolve.js";
import type { Session } from "../session.js";
import { examples, type CommandModule } from "./registry.js";

interface NetworkView {
  network: Network;
  nics: Nic[];
  tunnels: Tunnel[];
  routers: Router[];
}

const view = async (s: Session, network: Network, routers: readonly Router[]): Promise<NetworkView> => {
  const base = `/v1/networks/${encodeURIComponent(network.id)}`;
  const [nics, tunnels] = await Promise.all([
    getAllPages<Nic>(s, `${base}/nics`, "nics"),
    getAllPages<Tunnel>(s, `${base}/tunnels`, "tunnels"),
  ]);
  return { network, nics, tunnels, routers: routers.filter((r) => r.nics.some((n) => n.networkId === network.id)) };
};

/** The `ovn-nbctl show` layout: network, then its router(s), hosts with their NICs, and tunnels. */
const render = (v: NetworkView, host: (id: string) => string): string[] => {
  const n = v.network;
  const lines = [
    `network ${n.name} (${n.id})`,
    `    cidr ${n.cidr}  gateway ${n.gateway}  ` +
      (n.encapsulation === "vxlan" ? `vxlan vni ${n.vni ?? "-"}` : `gre key ${n.greKey ?? "-"}`) +
      `  state ${n.state}`,
  ];
  for (const r of v.routers) {
    lines.push(`    router ${r.name} (${r.id})  ${r.state}  generation ${r.appliedGeneration ?? "-"}/${r.generation}`);
  }
  const hosts = [...new Set([...v.nics.map((x) => x.hostId), ...v.tunnels.map((t) => t.from)])].sort((a, b) =>
    host(a).localeCompare(host(b)),
  );
  for (const h of hosts) {
    lines.push(`    host ${host(h)}${host(h) === h ? "" : ` (${h})`}`);
    for (const nic of v.nics.filter((x) => x.hostId === h)) {
      lines.push(`        nic ${nic.device}  ${nic.mac}  ${nic.ip}  ${nic.state}  vm ${nic.vmId}`);
    }
    for (const t of v.tunnels.filter((x) => x.from === h)) {
      lines.push(
        `        tunnel to ${host(t.to)}${t.remoteIp === undefined ? "" : `  remote ${t.remoteIp}`}  ${t.state}` +
          `${t.port === null ? "" : `  port ${t.port}`}`,
      );
    }
  }
  return lines;
};

/** `sdnctl topology [network]`: every network (or one) as a tree, like `ovn-nbctl show`. */
export const topologyCommands: CommandModule = (program, deps) => {
  program
    .command("topology")
    .description("show networks as a tree: routers, hosts with their NICs and tunnels (like ovn-nbctl show)")
    .argument("[network]", "one network's id or name (default: every network you can see)")
    .addHelpText("after", examples("sdnctl topology", "sdnctl topology web", "sdnctl topology -f json"))
    .action(async (ref, _opts, cmd) => {
      const s = await deps.session(cmd);
      const networks =
        ref === undefined
          ? await listAll<Network>(s, "network")
          : [await s.client.get<Network>(`/v1/networks/${encodeURIComponent(await resolveId(s, "network", ref))}`)];
      const [routers, names] = await Promise.all([listIfAllowed<Router>(s, "router"), hostNames(s)]);
      const views = await Promise.all(networks.map((n) => view(s, n, routers)));
      s.out.result({ networks: views }, (doc) => {
        for (const v of doc.networks) for (const line of render(v, (id) => names.get(id) ?? id)) s.out.line(line);
      });
    });
};
