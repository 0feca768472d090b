import type { Account } from "@sdn/contracts";
import type { Output } from "../output.js";
import { examples, type CommandModule } from "./registry.js";
import { resolveId } from "../resolve.js";

/** The body of POST /v1/accounts (schema AccountWithToken). */
interface AccountWithToken {
  account: Account;
  token: { id: string; token: string; name?: string };
}

const showAccount = (out: Output, a: Account) =>
  out.record([
    ["id", a.id],
    ["name", a.name],
    ["created", a.createdAt],
  ]);

/** `sdnctl accounts create|list|get`: tenants (admin, except reading one's own). */
export const accountsCommands: CommandModule = (program, deps) => {
  const accounts = program.command("accounts").description("tenant accounts (admin)");

  accounts
    .command("create")
    .description("create an account and its first token (the token is shown only once)")
    .argument("<name>", "name of the tenant, e.g. acme-prod")
    .addHelpText("after", examples("sdnctl accounts create acme-prod", "sdnctl accounts create acme-prod --json"))
    .action(async (name, _opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const { body } = await client.request<AccountWithToken>("POST", "/v1/accounts", { body: { name } });
      out.result(body, (r) => {
        out.record([
          ["id", r.account.id],
          ["name", r.account.name],
          ["created", r.account.createdAt],
          ["token id", r.token.id],
          ["token", r.token.token],
        ]);
        out.notice("the token is shown only now: store it safely (e.g. sdnctl login --token-stdin)");
      });
    });

  accounts
    .command("list")
    .description("list accounts")
    .action(async (_opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<{ items: Account[] }>("/v1/accounts");
      out.result(body, (b) =>
        out.table(b.items, [
          { header: "ID", value: (a) => a.id },
          { header: "NAME", value: (a) => a.name },
          { header: "CREATED", value: (a) => a.createdAt },
        ]),
      );
    });

  accounts
    .command("get")
    .description("show an account (admin, or the account's own token)")
    .argument("<id>", "account id or name")
    .action(async (id, _opts, cmd) => {
      const s = await deps.session(cmd);
      const { client, out } = s;
      id = await resolveId(s, "account", id);
      const account = await client.get<Account>(`/v1/accounts/${encodeURIComponent(id)}`);
      out.result(account, (a) => showAccount(out, a));
    });
};
