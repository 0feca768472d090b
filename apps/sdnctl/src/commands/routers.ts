import { Option } from "@commander-js/extra-typings";
import { ROUTER_TRANSPORTS, type Router, type RouterNic } from "@sdn/contracts";
import { runMutation, withMutationOptions } from "../mutation.js";
import type { Output } from "../output.js";
import { commaList, port, repeatable, routerNic } from "../parsers.js";
import { examples, type CommandModule } from "./registry.js";
import { resolveId } from "../resolve.js";

/** `net-id:eth2 (vnet7)`: the network, the router's interface (or MAC) and its device on the host. */
const nicText = (n: RouterNic) =>
  `${n.networkId}:${n.interface ?? n.mac ?? "(gateway address)"}${n.hostInterface === undefined ? "" : ` (${n.hostInterface})`}`;

/** `pair-a MASTER (ok)`: a pair member's group, VRRP state and the pair's health. */
const vrrpText = (r: Router) =>
  r.redundancy === undefined ? undefined : `${r.redundancy.group} ${r.vrrpState ?? "UNKNOWN"} (${r.redundancy.health})`;

const showRouter = (out: Output, r: Router) =>
  out.record([
    ["id", r.id],
    ["name", r.name],
    ["state", r.state],
    ["host", r.hostId],
    ["vm", r.vmId],
    ["networks", r.networkIds.join(", ")],
    ["nics", r.nics.length === 0 ? undefined : r.nics.map(nicText).join(", ")],
    ["control", `${r.controlUser}@${r.controlAddress}:${r.controlPort} (${r.transport})`],
    ["public interface", r.publicInterface],
    ["public gateway", r.publicGateway],
    ["redundancy", vrrpText(r)],
    [
      "pair",
      r.redundancy?.members
        .map((m) => `${m.name} ${m.vrrpState} (priority ${m.priority}, host ${m.hostId})`)
        .join(", "),
    ],
    ["generation", `${r.appliedGeneration} applied of ${r.generation}`],
    ["program version", r.programVersion],
    [
      "last error",
      r.lastError === undefined ? undefined : `${r.lastError.code}: ${r.lastError.message} (${r.lastError.at})`,
    ],
    ["created", r.createdAt],
    ["updated", r.updatedAt],
  ]);

const path = (id: string) => `/v1/routers/${encodeURIComponent(id)}`;

/** `sdnctl routers ssh-key|register|list|get|sync|delete`: virtual routers (admins). */
export const routersCommands: CommandModule = (program, deps) => {
  const routers = program.command("routers").description("virtual routers serving guest networks (admins)");

  routers
    .command("ssh-key")
    .description("print the public key the vr-manager logs in to routers with (for their authorized_keys)")
    .addHelpText("after", examples("sdnctl routers ssh-key >> /root/.ssh/authorized_keys   # on the router"))
    .action(async (_opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const key = await client.get<{ publicKey: string; fingerprint: string }>("/v1/routers/ssh-key");
      out.result(key, (k) => {
        out.line(k.publicKey.trim());
        // stderr: stdout stays one authorized_keys line.
        out.notice(`fingerprint ${k.fingerprint}`);
      });
    });

  withMutationOptions(
    routers
      .command("register")
      .description("register a router VM: connect (pinned host key), deploy the router program, apply its networks")
      .argument("<name>", "name, e.g. vr-web")
      .requiredOption("--host <hostId>", "host the router VM runs on (host-relay: the host that relays; required)")
      .requiredOption("--vm <vmId>", "the router VM (required)")
      .requiredOption("--networks <ids>", "guest networks it serves, comma-separated (required)", commaList)
      .requiredOption(
        "--control-address <ip>",
        "address of the router's sshd (host-relay: its link-local one; required)",
      )
      .requiredOption("--host-key <fingerprint>", "the router's SSH host key, SHA256:... (ssh-keygen -lf; required)")
      .requiredOption("--public-interface <dev>", "the router's interface on the public network, e.g. eth1 (required)")
      .option("--control-port <port>", "sshd port (default 3922)", port)
      .option("--control-user <user>", "SSH user (default root)")
      .addOption(
        new Option("--transport <transport>", "how the vr-manager reaches it (default ssh)").choices(ROUTER_TRANSPORTS),
      )
      .option("--public-gateway <ip>", "default gateway on the public side (default: the source NAT range's)")
      .addOption(
        new Option(
          "--nic <networkId:interface[:hostInterface]>",
          "the router's interface on a network and its device on the host (KVM: needed to plug); repeatable",
        ).argParser(repeatable(routerNic)),
      )
      .option("--no-plug-nics", "the router's NICs are plugged already: do not plug them through the ovs-element")
      .option(
        "--redundancy-group <name>",
        "make it one member of a redundant pair (keepalived VRRP): register the second on another host with the same group and networks",
      ),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl routers register vr-web --host 9a1b... --vm vm-router-1 --networks 3f0c... --control-address 10.0.0.50 \\\n" +
          "      --host-key SHA256:e0Lc... --public-interface eth1 --nic 3f0c...:eth2:vnet7 --wait",
      ),
    )
    .action(async (name, opts, cmd) => {
      const s = await deps.session(cmd);
      const body = {
        name,
        hostId: opts.host,
        vmId: opts.vm,
        networkIds: opts.networks,
        ...(opts.nic === undefined ? {} : { nics: opts.nic }),
        ...(opts.plugNics ? {} : { plugNics: false }),
        controlAddress: opts.controlAddress,
        ...(opts.controlPort === undefined ? {} : { controlPort: opts.controlPort }),
        ...(opts.controlUser === undefined ? {} : { controlUser: opts.controlUser }),
        hostKeyFingerprint: opts.hostKey,
        ...(opts.transport === undefined ? {} : { transport: opts.transport }),
        publicInterface: opts.publicInterface,
        ...(opts.publicGateway === undefined ? {} : { publicGateway: opts.publicGateway }),
        ...(opts.redundancyGroup === undefined ? {} : { redundancyGroup: opts.redundancyGroup }),
      };
      await runMutation<Router>(s, { method: "POST", path: "/v1/routers", body }, opts, (r) => showRouter(s.out, r));
    });

  routers
    .command("list")
    .description("list routers and where their configuration stands")
    .action(async (_opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<{ routers: Router[] }>("/v1/routers");
      out.result(body, (b) =>
        out.table(b.routers, [
          { header: "ID", value: (r) => r.id },
          { header: "NAME", value: (r) => r.name },
          { header: "STATE", value: (r) => r.state },
          { header: "HOST", value: (r) => r.hostId },
          { header: "VM", value: (r) => r.vmId },
          { header: "CONTROL", value: (r) => `${r.controlAddress}:${r.controlPort}` },
          { header: "GENERATION", value: (r) => `${r.appliedGeneration}/${r.generation}` },
          { header: "NETWORKS", value: (r) => r.networkIds.join(",") },
          { header: "VRRP", value: (r) => vrrpText(r) ?? "-" },
        ]),
      );
    });

  routers
    .command("get")
    .description("show a router")
    .argument("<id>", "router id or name")
    .action(async (id, _opts, cmd) => {
      const s = await deps.session(cmd);
      const { client, out } = s;
      id = await resolveId(s, "router", id);
      const router = await client.get<Router>(path(id));
      out.result(router, (r) => showRouter(out, r));
    });

  withMutationOptions(
    routers
      .command("sync")
      .description("push the router's whole configuration now and show its state")
      .argument("<id>", "router id or name"),
  ).action(async (id, opts, cmd) => {
    const s = await deps.session(cmd);
    id = await resolveId(s, "router", id);
    await runMutation<Router>(s, { method: "POST", path: `${path(id)}/sync` }, opts, (r) => showRouter(s.out, r));
  });

  withMutationOptions(
    routers
      .command("delete")
      .description("forget a router and unplug the NICs it plugged; its networks' rules stay for the next router")
      .argument("<id>", "router id or name"),
  ).action(async (id, opts, cmd) => {
    const s = await deps.session(cmd);
    id = await resolveId(s, "router", id);
    await runMutation(s, { method: "DELETE", path: path(id) }, opts, () => undefined, `deleted router ${id}`);
  });
};
