import Type, { type Static, type TSchema } from "@sdn/typebox";
import { ErrorBody } from "./errors.js";

/**
 * The answer to a command, CloudStack-style: the id of the command it answers, whether it
 * succeeded, a one-line summary and either the typed result or an error.
 */
export const answerSchema = <T extends TSchema>(data: T, $id?: string) =>
  Type.Union(
    [
      Type.Object(
        {
          commandId: Type.String(),
          ok: Type.Literal(true),
          details: Type.String({ description: "One-line summary of what was done" }),
          data,
        },
        { additionalProperties: false },
      ),
      Type.Object(
        {
          commandId: Type.String(),
          ok: Type.Literal(false),
          details: Type.String(),
          error: ErrorBody,
        },
        { additionalProperties: false },
      ),
    ],
    $id === undefined ? {} : { $id },
  );

export type Answer<T> =
  | { commandId: string; ok: true; details: string; data: T }
  | { commandId: string; ok: false; details: string; error: ErrorBody };

/** The answer envelope with an untyped payload, for documentation and generic readers. */
export const AnyAnswer = answerSchema(Type.Unknown(), "Answer");
export type AnyAnswer = Static<typeof AnyAnswer>;

/** Every event on `sdn.evt.>` is wrapped in this envelope. */
export const eventEnvelopeSchema = <T extends TSchema>(data: T, $id?: string) =>
  Type.Object(
    {
      eventId: Type.String(),
      type: Type.String({ description: "Event name, e.g. NetworkImplemented" }),
      service: Type.String({ description: "Service that published it" }),
      occurredAt: Type.String({ format: "date-time" }),
      accountId: Type.Optional(Type.String({ description: "Tenant the event concerns" })),
      commandId: Type.Optional(Type.String({ description: "Command that caused it" })),
      data,
    },
    { additionalProperties: false, ...($id === undefined ? {} : { $id }) },
  );

export type EventEnvelope<T> = {
  eventId: string;
  type: string;
  service: string;
  occurredAt: string;
  accountId?: string;
  commandId?: string;
  data: T;
};
