import { ErrorBody } from "@sdn/contracts";
import Type from "@sdn/typebox";

/** Every error response: `{ error: { code, message, details? } }`. */
export const ErrorResponse = Type.Object({ error: ErrorBody }, { additionalProperties: false });

/** The error responses a route may give, for its OpenAPI entry. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { ...ErrorResponse, description: `Error (${s})` }]));
