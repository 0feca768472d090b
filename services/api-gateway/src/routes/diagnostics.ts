import { CheckHealth, COMMAND_SERVICES } from "@sdn/contracts";
import type { GatewayApp } from "../app.js";
import { commandRoute } from "../command-route.js";

/**
 * `POST /v1/services/{service}/health-checks` (admin): a CheckHealth command through the
 * durable tier, proving the whole command path to one service.
 */
export const diagnosticsRoutes = async (app: GatewayApp): Promise<void> => {
  for (const service of COMMAND_SERVICES) {
    commandRoute(app, {
      method: "POST",
      url: `/v1/services/${service}/health-checks`,
      command: CheckHealth[service],
      kind: "read",
      adminOnly: true,
      tags: ["Diagnostics"],
      summary: `Send a CheckHealth command to ${service} over the durable command path`,
      // check<Service>Health: one operation per service, so each needs its own id.
      operationId: `check${service.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}Health`,
      toCommand: () => ({}),
    });
  }
};
