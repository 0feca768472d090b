import { COMMAND_SERVICES, type CheckHealth, type ResponseOf } from "@sdn/contracts";
import { Argument } from "@commander-js/extra-typings";
import { examples, type CommandModule } from "./registry.js";

type HealthReport = ResponseOf<(typeof CheckHealth)["network-guru"]>;

/** `sdnctl services check <service>`: a CheckHealth command over the durable command path. */
export const servicesCommands: CommandModule = (program, deps) => {
  const services = program.command("services").description("the controller's services (admin)");

  services
    .command("check")
    .description("send a CheckHealth command to a service through the bus and show its report")
    .addArgument(new Argument("<service>", "the service to check").choices(COMMAND_SERVICES))
    .addHelpText("after", examples("sdnctl services check network-guru"))
    .action(async (service, _opts, cmd) => {
      const { client, out } = await deps.session(cmd);
      const { body } = await client.request<HealthReport>("POST", `/v1/services/${service}/health-checks`, {
        retry: true,
      });
      out.result(body, (r) =>
        out.table(
          [r],
          [
            { header: "SERVICE", value: (x) => x.service },
            { header: "VERSION", value: (x) => x.version },
            { header: "INSTANCE", value: (x) => x.instanceId },
            { header: "UPTIME", value: (x) => `${Math.round(x.uptimeSeconds)} s` },
          ],
        ),
      );
    });
};
