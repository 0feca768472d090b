import type { BusCredentialInfo, IssuedBusCredential } from "@sdn/contracts";
import { writeFile } from "node:fs/promises";
import { examples, type CommandModule } from "./registry.js";

const path = (account: string, id?: string) =>
  `/v1/accounts/${encodeURIComponent(account)}/bus-credentials${id === undefined ? "" : `/${encodeURIComponent(id)}`}`;

/** `sdnctl bus-credentials create|list|revoke`: NATS credentials of external systems (admin). */
export const busCredentialsCommands: CommandModule = (program, deps) => {
  const creds = program
    .command("bus-credentials")
    .description("NATS bus credentials for external systems, bound to one account (admin)");

  creds
    .command("create")
    .description("issue a .creds file bound to an account (`admin`: admin bus credentials); shown only once")
    .requiredOption("--account <id>", "the account everything published with it acts as (required)")
    .option("--out <file>", "write the .creds file here (mode 0600) instead of printing it")
    .addHelpText("after", examples("sdnctl bus-credentials create --account 3b0c1d9e-... --out acme.creds"))
    .action(async (opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const { body } = await client.request<IssuedBusCredential>("POST", path(opts.account));
      if (opts.out !== undefined) await writeFile(opts.out, body.creds, { mode: 0o600, flag: "wx" });
      out.result(opts.out === undefined ? body : { ...body, creds: `written to ${opts.out}` }, (c) => {
        out.record([
          ["id", c.id],
          ["account", c.accountId],
          ["role", c.role],
          ["inbox prefix", c.inboxPrefix],
          ["created", c.createdAt],
        ]);
        if (opts.out === undefined) out.line(`\n${c.creds.trimEnd()}`);
        out.notice(
          opts.out === undefined
            ? "the credentials are shown only now: store them safely (mode 0600)"
            : `credentials written to ${opts.out}; set inboxPrefix ${c.inboxPrefix} on the client`,
        );
      });
    });

  creds
    .command("list")
    .description("list an account's bus credentials, revoked ones included (never their seeds)")
    .requiredOption("--account <id>", "the account whose credentials to list (required)")
    .action(async (opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<{ items: BusCredentialInfo[] }>(path(opts.account));
      out.result(body, (b) =>
        out.table(b.items, [
          { header: "ID", value: (c) => c.id },
          { header: "ROLE", value: (c) => c.role },
          { header: "CREATED", value: (c) => c.createdAt },
          { header: "REVOKED", value: (c) => c.revokedAt },
        ]),
      );
    });

  creds
    .command("revoke")
    .description("revoke bus credentials: the NATS server refuses them and cuts their connections")
    .argument("<id>", "credential id (from bus-credentials list)")
    .requiredOption("--account <id>", "the account the credentials belong to (required)")
    .action(async (id, opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      await client.request("DELETE", path(opts.account, id));
      out.notice(`revoked bus credentials ${id}`);
    });
};
