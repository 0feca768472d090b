import { Option } from "@commander-js/extra-typings";
import type { IssuedToken, TokenInfo } from "@sdn/contracts";
import { positiveInteger } from "../parsers.js";
import { examples, type CommandModule } from "./registry.js";

/** `sdnctl tokens create|list|revoke`: an account's bearer tokens (rotation). */
export const tokensCommands: CommandModule = (program, deps) => {
  const tokens = program.command("tokens").description("an account's API tokens");

  tokens
    .command("create")
    .description("issue another token for an account (the token is shown only once)")
    .requiredOption("--account <id>", "the account the token is for (required)")
    .option("--name <name>", "what the token is for, e.g. ci")
    .addOption(
      new Option("--expires-in <seconds>", "the token stops working after this many seconds").argParser(
        positiveInteger,
      ),
    )
    .addHelpText("after", examples("sdnctl tokens create --account 3b0c1d9e-... --name ci --expires-in 86400"))
    .action(async (opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const { body } = await client.request<IssuedToken>(
        "POST",
        `/v1/accounts/${encodeURIComponent(opts.account)}/tokens`,
        {
          body: {
            ...(opts.name === undefined ? {} : { name: opts.name }),
            ...(opts.expiresIn === undefined ? {} : { expiresInSeconds: opts.expiresIn }),
          },
        },
      );
      out.result(body, (t) => {
        out.record([
          ["id", t.id],
          ["account", t.accountId],
          ["name", t.name],
          ["role", t.role],
          ["created", t.createdAt],
          ["expires", t.expiresAt],
          ["token", t.token],
        ]);
        out.notice("the token is shown only now: store it safely");
      });
    });

  tokens
    .command("list")
    .description("list an account's tokens (never their secrets)")
    .requiredOption("--account <id>", "the account whose tokens to list (required)")
    .action(async (opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<{ items: TokenInfo[] }>(`/v1/accounts/${encodeURIComponent(opts.account)}/tokens`);
      out.result(body, (b) =>
        out.table(b.items, [
          { header: "ID", value: (t) => t.id },
          { header: "NAME", value: (t) => t.name },
          { header: "ROLE", value: (t) => t.role },
          { header: "CREATED", value: (t) => t.createdAt },
          { header: "EXPIRES", value: (t) => t.expiresAt },
        ]),
      );
    });

  tokens
    .command("revoke")
    .description("revoke a token; requests with it fail from now on")
    .argument("<id>", "token id (from tokens list)")
    .action(async (id, _opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      await client.request("DELETE", `/v1/tokens/${encodeURIComponent(id)}`);
      out.notice(`revoked token ${id}`);
    });
};
