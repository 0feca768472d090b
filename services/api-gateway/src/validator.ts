import { validationIssues, type ValidationIssue } from "@sdn/bus";
import type { FastifySchemaCompiler } from "fastify";
import type { TSchema } from "@sdn/typebox";
import { Value } from "@sdn/typebox/value";

/**
 * Validates HTTP input with the same TypeBox checks and messages the services use on the
 * bus. Bodies are checked as sent (no coercion, unknown fields refused); path and query
 * strings are converted to the declared types first, as they can only arrive as text. Text
 * that already conforms (a UUID path parameter, string query fields) is taken as it is:
 * conversion changes only what does not, and walking the schema to convert was most of the
 * validation time of a read (issue 18).
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> =
  ({ schema, httpPart }) =>
  (value: unknown) => {
    const issues = validationIssues(schema, value);
    if (issues.length === 0) return { value };
    if (httpPart === "body") return refused(issues);
    const converted: unknown = Value.Convert(schema, value);
    const left = validationIssues(schema, converted);
    return left.length === 0 ? { value: converted } : refused(left);
  };

const refused = (issues: readonly ValidationIssue[]) => ({
  error: issues.map((i) => ({ keyword: "", schemaPath: "", params: {}, instancePath: i.path, message: i.message })),
});
