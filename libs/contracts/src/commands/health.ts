import Type from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { COMMAND_SERVICES, type CommandServiceName } from "../subjects.js";

export const HealthReport = Type.Object(
  {
    service: Type.String(),
    version: Type.String(),
    instanceId: Type.String({ description: "Identifies one replica of the service" }),
    uptimeSeconds: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false, $id: "HealthReport" },
);

const checkHealth = <S extends CommandServiceName>(service: S) =>
  defineCommand({
    service,
    name: "CheckHealth",
    delivery: "durable",
    summary: `Asks ${service} to report itself through the durable command path; proves the path end to end.`,
    request: Type.Object({}, { additionalProperties: false }),
    response: HealthReport,
  });

/** Every command service answers CheckHealth on the durable tier. */
export const CheckHealth = Object.fromEntries(COMMAND_SERVICES.map((s) => [s, checkHealth(s)])) as {
  [S in CommandServiceName]: ReturnType<typeof checkHealth<S>>;
};
