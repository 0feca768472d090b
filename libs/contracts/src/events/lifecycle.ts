import Type from "@sdn/typebox";
import { defineEvent } from "../definitions.js";
import { SERVICE_NAMES, type ServiceName } from "../subjects.js";

const ServiceStartedData = Type.Object(
  {
    version: Type.String(),
    instanceId: Type.String(),
  },
  { additionalProperties: false },
);

const serviceStarted = <S extends ServiceName>(service: S) =>
  defineEvent({
    service,
    name: "ServiceStarted",
    summary: `A replica of ${service} finished starting and is consuming commands.`,
    data: ServiceStartedData,
  });

/** Published once by each replica when its start-up completes, for audit. */
export const ServiceStarted = Object.fromEntries(SERVICE_NAMES.map((s) => [s, serviceStarted(s)])) as {
  [S in ServiceName]: ReturnType<typeof serviceStarted<S>>;
};
