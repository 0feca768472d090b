import { ApiError } from "../errors.js";
import { examples, type CommandModule } from "./registry.js";

interface State {
  ok: boolean;
  detail: string;
}
interface Readiness {
  ready: boolean;
  nats: State;
  services: Record<string, State>;
}

/** `sdnctl health`: /healthz and /readyz as one table; exits 4 when not ready. */
export const healthCommands: CommandModule = (program, deps) => {
  program
    .command("health")
    .description("is the API up, is NATS reachable, does every service answer (no token needed)")
    .addHelpText("after", examples("sdnctl health", "sdnctl health --json"))
    .action(async (_opts, cmd) => {
      const { client, out } = await deps.session(cmd, { token: false });
      const healthz = await client.get<{ status: string }>("/healthz");
      const readyz = (await client.request<Readiness>("GET", "/readyz", { retry: true, answerStatuses: [503] })).body;
      out.result({ healthz, readyz }, () => {
        const rows: [string, State][] = [
          ["api-gateway", { ok: healthz.status === "ok", detail: `healthz: ${healthz.status}` }],
          ["nats", readyz.nats],
          ...Object.entries(readyz.services),
        ];
        out.table(rows, [
          { header: "COMPONENT", value: ([name]) => name },
          { header: "OK", value: ([, s]) => (s.ok ? "yes" : "no") },
          { header: "DETAIL", value: ([, s]) => s.detail },
        ]);
      });
      if (!readyz.ready) {
        const down = [
          ...(readyz.nats.ok ? [] : ["nats"]),
          ...Object.keys(readyz.services).filter((k) => !readyz.services[k]?.ok),
        ];
        throw new ApiError(503, "UNAVAILABLE", `not ready: ${down.join(", ")} not answering`);
      }
    });
};
