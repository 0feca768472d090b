import Type, { type Static } from "@sdn/typebox";
import { ErrorBody } from "../errors.js";

/**
 * An async job, as CloudStack's: a mutating call that was not answered within the wait
 * time. Its id is the id of the command it carries.
 */
export const Job = Type.Object(
  {
    id: Type.String({ description: "Job id (equal to the command id)" }),
    command: Type.String({ description: "Service and command, e.g. network-guru.CreateNetwork" }),
    status: Type.Enum(["pending", "succeeded", "failed"]),
    createdAt: Type.String({ format: "date-time" }),
    completedAt: Type.Optional(Type.String({ format: "date-time" })),
    result: Type.Optional(Type.Unknown({ description: "The answer's data, once succeeded" })),
    error: Type.Optional(ErrorBody),
  },
  { additionalProperties: false, $id: "Job" },
);
export type Job = Static<typeof Job>;

export const JobAccepted = Type.Object(
  {
    jobId: Type.String(),
    status: Type.Literal("pending"),
  },
  { additionalProperties: false, $id: "JobAccepted" },
);
