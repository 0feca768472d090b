import { validationIssues } from "@sdn/bus";
import type { FastifySchemaCompiler } from "fastify";
import type { TSchema } from "typebox";
import { Value } from "typebox/value";

/**
 * Validates HTTP input with the same TypeBox checks and messages the services use on the
 * bus. Bodies are checked as sent (no coercion, unknown fields refused); path and query
 * strings are converted to the declared types first, as they can only arrive as text.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> =
  ({ schema, httpPart }) =>
  (value: unknown) => {
    const candidate: unknown = httpPart === "body" ? value : Value.Convert(schema, value);
    const issues = validationIssues(schema, candidate);
    if (issues.length === 0) return { value: candidate };
    return {
      error: issues.map((i) => ({ keyword: "", schemaPath: "", params: {}, instancePath: i.path, message: i.message })),
    };
  };
