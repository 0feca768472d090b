import type { Provider } from "@sdn/contracts";
import type { CommandModule } from "./registry.js";

/** `sdnctl providers list`: network service providers and what they offer (ovs-element). */
export const providersCommands: CommandModule = (program, deps) => {
  const providers = program.command("providers").description("network service providers");

  providers
    .command("list")
    .description("list providers, one row per service: who gives it, delegated to whom, its capabilities")
    .action(async (_opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const body = await client.get<{ providers: Provider[] }>("/v1/providers");
      const rows = body.providers.flatMap((p) => p.services.map((s) => ({ provider: p, service: s })));
      out.result(body, () =>
        out.table(rows, [
          { header: "PROVIDER", value: (r) => r.provider.name },
          { header: "BROADCAST DOMAIN", value: (r) => r.provider.broadcastDomain },
          { header: "SERVICE", value: (r) => r.service.service },
          { header: "DELEGATED TO", value: (r) => r.service.delegatedTo },
          {
            header: "CAPABILITIES",
            value: (r) => {
              const caps = Object.entries(r.service.capabilities).map(([k, v]) => `${k}=${v}`);
              return caps.length === 0 ? undefined : caps.join(", ");
            },
          },
        ]),
      );
    });
};
