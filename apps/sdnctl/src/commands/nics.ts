import { Option, type Command, type OptionValues } from "@commander-js/extra-typings";
import { NIC_ROLES, type Nic } from "@sdn/contracts";
import { runMutation, withMutationOptions } from "../mutation.js";
import type { Output } from "../output.js";
import { listPages, withPageOptions } from "../paging.js";
import { sshKeyFile, userDataFile } from "../parsers.js";
import { examples, type CommandModule } from "./registry.js";
import { resolveId } from "../resolve.js";

const showNic = (out: Output, n: Nic) =>
  out.record([
    ["id", n.id],
    ["network", n.networkId],
    ["account", n.accountId],
    ["vm", n.vmId],
    ["host", n.hostId],
    ["role", n.role],
    ["device", n.device],
    ["ip", `${n.ip}/${n.prefixLength}`],
    ["gateway", n.gateway],
    ["mac", n.mac],
    ["bridge", n.bridge],
    ["mtu", n.mtu],
    ["state", n.state],
    ["hostname", n.hostname],
    ["user data", n.userData === undefined ? undefined : `${Buffer.from(n.userData, "base64").length} bytes`],
    ["ssh keys", n.publicKeys?.length],
    ["created", n.createdAt],
    ["updated", n.updatedAt],
  ]);

/** The guest-data options of `plug` and `update`: what the network's router serves the VM. */
const withGuestDataOptions = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) =>
  cmd
    .option("--hostname <name>", "the VM's host name (DHCP, DNS <name>.<network domain>, metadata)")
    .addOption(
      new Option("--user-data-file <path>", "user data served to the VM, at most 32 KiB ('' removes it)").argParser(
        userDataFile,
      ),
    )
    .addOption(
      new Option("--ssh-key <path>", "an OpenSSH public key file for the VM's metadata (repeatable)").argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), ...sshKeyFile(value)],
      ),
    )
    .addOption(new Option("--no-ssh-keys", "remove the VM's SSH public keys"));

const guestDataBody = (opts: { hostname?: string; userDataFile?: string; sshKey?: string[]; sshKeys?: boolean }) => ({
  ...(opts.hostname === undefined ? {} : { hostname: opts.hostname }),
  ...(opts.userDataFile === undefined ? {} : { userData: opts.userDataFile }),
  ...(opts.sshKeys === false ? { publicKeys: [] } : opts.sshKey === undefined ? {} : { publicKeys: opts.sshKey }),
});

const path = (networkId: string) => `/v1/networks/${encodeURIComponent(networkId)}/nics`;

/** `sdnctl nics plug|update|list|unplug`: VM NICs on a network's OVS bridges (ovs-element). */
export const nicsCommands: CommandModule = (program, deps) => {
  const nics = program.command("nics").description("VM NICs plugged into a network on a host");

  withMutationOptions(
    withGuestDataOptions(
      nics
        .command("plug")
        .description("plug a VM's NIC into the network on a host (joins the host to the network's GRE mesh)")
        .argument("<networkId>", "network id or name")
        .requiredOption("--host <id>", "host id (required)")
        .requiredOption("--vm <id>", "VM id; XenServer / XCP-ng: the VM's uuid (required)")
        .option("--host-interface <device>", "the VM's device on the host (KVM: its tap or veth, required)")
        .option("--ip <address>", "address on the network (default: the next free one)")
        .option("--mac <mac>", "MAC (default: the XAPI VIF's, else a generated one)")
        .addOption(new Option("--role <role>", "guest (default) or router (admins)").choices(NIC_ROLES)),
    ),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl nics plug 3f0c... --host 9a1b... --vm vm-17 --host-interface vnet3 --ip 10.1.0.17",
        "sdnctl nics plug 3f0c... --host 7c2d... --vm 5e3f0a1c-... --wait --json   # XAPI: the VIF is found",
        "sdnctl nics plug 3f0c... --host 9a1b... --vm vm-18 --host-interface vnet4 --hostname web-2 \\\n" +
          "    --user-data-file cloud-config.yaml --ssh-key ~/.ssh/id_ed25519.pub",
      ),
    )
    .action(async (networkId, opts, cmd) => {
      const s = await deps.session(cmd);
      networkId = await resolveId(s, "network", networkId);
      const body = {
        vmId: opts.vm,
        hostId: opts.host,
        ...(opts.hostInterface === undefined ? {} : { hostInterface: opts.hostInterface }),
        ...(opts.ip === undefined ? {} : { ip: opts.ip }),
        ...(opts.mac === undefined ? {} : { mac: opts.mac }),
        ...(opts.role === undefined ? {} : { role: opts.role }),
        ...guestDataBody(opts),
      };
      await runMutation<Nic>(s, { method: "POST", path: path(networkId), body }, opts, (n) => showNic(s.out, n));
    });

  withMutationOptions(
    withGuestDataOptions(
      nics
        .command("update")
        .description("change what the network's router serves a VM: hostname, user data, SSH public keys")
        .argument("<networkId>", "network id")
        .argument("<nicId>", "NIC id"),
    ),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl nics update 3f0c... nic-5c1e... --user-data-file cloud-config.yaml",
        "sdnctl nics update 3f0c... nic-5c1e... --hostname web-3 --no-ssh-keys",
      ),
    )
    .action(async (networkId, nicId, opts, cmd) => {
      const s = await deps.session(cmd);
      await runMutation<Nic>(
        s,
        { method: "PATCH", path: `${path(networkId)}/${encodeURIComponent(nicId)}`, body: guestDataBody(opts) },
        opts,
        (n) => showNic(s.out, n),
      );
    });

  withPageOptions(
    nics
      .command("list")
      .description("list the network's NICs, ordered by NIC id")
      .argument("<networkId>", "network id or name"),
  ).action(async (networkId, opts, cmd) => {
    const s = await deps.session(cmd);
    networkId = await resolveId(s, "network", networkId);
    await listPages<"nics", Nic>(s, { path: path(networkId), field: "nics" }, opts, (rows) =>
      s.out.table(rows, [
        { header: "ID", value: (n) => n.id },
        { header: "VM", value: (n) => n.vmId },
        { header: "HOST", value: (n) => n.hostId },
        { header: "DEVICE", value: (n) => n.device },
        { header: "IP", value: (n) => n.ip },
        { header: "MAC", value: (n) => n.mac },
        { header: "ROLE", value: (n) => n.role },
        { header: "STATE", value: (n) => n.state },
      ]),
    );
  });

  withMutationOptions(
    nics
      .command("unplug")
      .description("unplug a NIC and release its address (the host leaves the mesh with its last NIC)")
      .argument("<networkId>", "network id or name")
      .argument("<nicId>", "NIC id"),
  ).action(async (networkId, nicId, opts, cmd) => {
    const s = await deps.session(cmd);
    networkId = await resolveId(s, "network", networkId);
    await runMutation<Nic>(
      s,
      { method: "DELETE", path: `${path(networkId)}/${encodeURIComponent(nicId)}` },
      opts,
      (n) => showNic(s.out, n),
    );
  });
};
