import { QUOTA_NAMES, type QuotaName, type Quotas } from "@sdn/contracts";
import type { Output } from "../output.js";
import { integerIn } from "../parsers.js";
import { examples, type CommandModule } from "./registry.js";

/** The option of each quota: `--public-ips` for publicIps. */
const optionOf = (q: QuotaName) => q.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const showQuotas = (out: Output, q: Quotas) => out.record(QUOTA_NAMES.map((name) => [optionOf(name), q[name]]));

/** `sdnctl quotas get|set`: an account's quotas (tenants read their own; admins set any). */
export const quotasCommands: CommandModule = (program, deps) => {
  const quotas = program
    .command("quotas")
    .description("an account's quotas (networks, NICs, public IPs, rules, tokens)");

  quotas
    .command("get")
    .description("show an account's quotas: its own values, the defaults for the rest")
    .argument("<account>", "account id")
    .action(async (account, _opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<Quotas>(`/v1/accounts/${encodeURIComponent(account)}/quotas`);
      out.result(body, (q) => showQuotas(out, q));
    });

  const set = quotas
    .command("set")
    .description("set some of an account's quotas (admin); the others keep their values")
    .argument("<account>", "account id")
    .addHelpText("after", examples("sdnctl quotas set 3b0c1d9e-... --networks 100 --public-ips 10"));
  for (const name of QUOTA_NAMES) {
    set.option(`--${optionOf(name)} <n>`, `most ${name} the account may have`, integerIn(0, 1_000_000));
  }
  set.action(async (account, opts: Partial<Quotas>, cmd) => {
    const body = Object.fromEntries(QUOTA_NAMES.flatMap((n) => (opts[n] === undefined ? [] : [[n, opts[n]]])));
    const { client, out } = await deps.session(cmd);
    const { body: q } = await client.request<Quotas>("PUT", `/v1/accounts/${encodeURIComponent(account)}/quotas`, {
      body,
    });
    out.result(q, (r) => showQuotas(out, r));
  });
};
