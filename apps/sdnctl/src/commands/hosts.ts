import { Option } from "@commander-js/extra-typings";
import { HYPERVISORS, type Host } from "@sdn/contracts";
import { UsageError } from "../errors.js";
import { runMutation, withMutationOptions } from "../mutation.js";
import type { Output } from "../output.js";
import { positiveInteger } from "../parsers.js";
import { readSecret } from "../secrets.js";
import { examples, type CommandModule } from "./registry.js";
import { resolveId } from "../resolve.js";

const showHost = (out: Output, h: Host) =>
  out.record([
    ["id", h.id],
    ["name", h.name],
    ["hypervisor", h.hypervisor],
    ["state", h.state],
    ["address", `${h.address}:${h.port}`],
    ["username", h.username],
    ["platform", `${h.platform.name} ${h.platform.version}`],
    ["ovs", h.platform.ovsVersion],
    ["tunnel endpoint", `${h.tunnelInterface.ip}/${h.tunnelInterface.prefixLength} on ${h.tunnelInterface.device}`],
    ["programs", h.programsVersion],
    ["host key", h.hostKeyFingerprint],
    ["tls", h.tls],
    ["created", h.createdAt],
    ["state since", h.stateChangedAt],
  ]);

const path = (id: string) => `/v1/hosts/${encodeURIComponent(id)}`;

/** `sdnctl hosts add|list|get|remove`: the hypervisor hosts the agent drives (admin). */
export const hostsCommands: CommandModule = (program, deps) => {
  const hosts = program.command("hosts").description("XenServer, XCP-ng and KVM hosts (admin)");

  withMutationOptions(
    hosts
      .command("add")
      .description("add a host: the agent connects, identifies it and deploys the host programs")
      .argument("<name>", "unique name, e.g. kvm-01")
      .addOption(
        new Option("--hypervisor <kind>", "kind of host (required)").choices(HYPERVISORS).makeOptionMandatory(),
      )
      .requiredOption("--address <address>", "IPv4 address or DNS name the agent connects to (required)")
      .requiredOption("--username <name>", "XAPI or SSH user (required)")
      .addOption(new Option("--port <port>", "default 443 (XAPI) or 22 (SSH)").argParser(positiveInteger))
      .option("--password-file <path>", "XAPI password, from a file or - for stdin")
      .option(
        "--private-key-file <path>",
        "SSH private key file (OpenSSH or PEM); KVM: required, XAPI: instead of the password",
      )
      .option("--passphrase-file <path>", "passphrase of the private key, from a file or - for stdin")
      .option(
        "--host-key-fingerprint <sha256>",
        "the SSH host key's SHA256:... fingerprint to pin (XAPI: to deploy the plugin)",
      )
      .option("--trust-host-key", "pin the SSH host key seen on first contact instead")
      .option("--tunnel-network <label>", "XAPI: name-label of the tunnel network; KVM: the interface")
      .option("--tls-certificate-file <path>", "XAPI: PEM of the CA or of the host's certificate (pinned)")
      .option("--tls-insecure", "XAPI: skip certificate checks (labs only)"),
  )
    .addHelpText(
      "after",
      "\nSecrets are read from files (or stdin with -), never taken on the command line.\n" +
        examples(
          "sdnctl hosts add kvm-01 --hypervisor kvm --address 10.0.0.21 --username root \\\n" +
            "      --private-key-file ~/.ssh/id_ed25519 --host-key-fingerprint SHA256:e0Lc... --wait",
          "sdnctl hosts add xen-01 --hypervisor xenserver --address 10.0.0.11 --username root \\\n" +
            "      --password-file - --tls-certificate-file xen-ca.pem < xen-password",
        ),
    )
    .action(async (name, opts, cmd) => {
      const s = await deps.session(cmd);
      if (opts.passwordFile === "-" && opts.passphraseFile === "-") {
        throw new UsageError("only one of --password-file and --passphrase-file can be - (stdin)");
      }
      const secret = (file: string | undefined, what: string, trim: boolean) =>
        file === undefined ? undefined : readSecret(deps.io, file, what, trim);
      const body = {
        name,
        hypervisor: opts.hypervisor,
        address: opts.address,
        username: opts.username,
        port: opts.port,
        password: await secret(opts.passwordFile, "password", true),
        privateKey: await secret(opts.privateKeyFile, "private key", false),
        passphrase: await secret(opts.passphraseFile, "passphrase", true),
        hostKeyFingerprint: opts.hostKeyFingerprint,
        trustHostKeyOnFirstContact: opts.trustHostKey,
        tunnelNetworkLabel: opts.tunnelNetwork,
        tlsCertificate: await secret(opts.tlsCertificateFile, "certificate", false),
        tlsInsecure: opts.tlsInsecure,
      };
      // JSON drops the undefined fields: the API refuses nulls and unknown fields.
      await runMutation<Host>(s, { method: "POST", path: "/v1/hosts", body }, opts, (h) => showHost(s.out, h));
    });

  hosts
    .command("list")
    .description("list hosts")
    .action(async (_opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<{ hosts: Host[] }>("/v1/hosts");
      out.result(body, (b) =>
        out.table(b.hosts, [
          { header: "ID", value: (h) => h.id },
          { header: "NAME", value: (h) => h.name },
          { header: "HYPERVISOR", value: (h) => h.hypervisor },
          { header: "STATE", value: (h) => h.state },
          { header: "ADDRESS", value: (h) => h.address },
          { header: "TUNNEL IP", value: (h) => h.tunnelInterface.ip },
          { header: "PLATFORM", value: (h) => `${h.platform.name} ${h.platform.version}` },
        ]),
      );
    });

  hosts
    .command("get")
    .description("show a host")
    .argument("<id>", "host id or name")
    .action(async (id, _opts, cmd) => {
      const s = await deps.session(cmd);
      const { client, out } = s;
      id = await resolveId(s, "host", id);
      const host = await client.get<Host>(path(id));
      out.result(host, (h) => showHost(out, h));
    });

  withMutationOptions(
    hosts
      .command("remove")
      .description("remove a host from the controller; nothing on the host is changed")
      .argument("<id>", "host id or name"),
  ).action(async (id, opts, cmd) => {
    const s = await deps.session(cmd);
    id = await resolveId(s, "host", id);
    await runMutation(s, { method: "DELETE", path: path(id) }, opts, () => undefined, `removed host ${id}`);
  });
};
