import type { TSchema, Static } from "@sdn/typebox";
import { Compile, type Validator } from "@sdn/typebox/compile";
import { MalformedMessageError } from "./errors.js";

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Compiled validators are cached per schema object: compiling is costly, checking is not. */
const cache = new WeakMap<TSchema, Validator>();

const validatorOf = (schema: TSchema): Validator => {
  let v = cache.get(schema);
  if (v === undefined) {
    v = Compile(schema);
    cache.set(schema, v);
  }
  return v;
};

interface RawIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** Turns raw JSON-schema errors into "where: what" lines a person can act on. */
const describe = (raw: RawIssue): ValidationIssue | undefined => {
  const path = raw.instancePath === "" ? "/" : raw.instancePath;
  switch (raw.keyword) {
    case "boolean":
      // Echo of `additionalProperties: false` on the property itself; reported below.
      return undefined;
    case "additionalProperties": {
      const names = (raw.params["additionalProperties"] as string[] | undefined) ?? [];
      return {
        path,
        message: `unknown propert${names.length === 1 ? "y" : "ies"} ${names.map((n) => `'${n}'`).join(", ")}`,
      };
    }
    case "required": {
      const names = (raw.params["requiredProperties"] as string[] | undefined) ?? [];
      return names.length > 0
        ? {
            path,
            message: `missing required propert${names.length === 1 ? "y" : "ies"} ${names.map((n) => `'${n}'`).join(", ")}`,
          }
        : { path, message: raw.message };
    }
    default:
      return { path, message: raw.message };
  }
};

export const validationIssues = (schema: TSchema, value: unknown): ValidationIssue[] => {
  const v = validatorOf(schema);
  if (v.Check(value)) return [];
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const raw of v.Errors(value) as RawIssue[]) {
    const issue = describe(raw);
    if (issue === undefined) continue;
    const key = `${issue.path} ${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
};

export const formatIssues = (issues: readonly ValidationIssue[]): string =>
  issues.map((i) => `${i.path}: ${i.message}`).join("; ");

/** Returns the value typed, or throws MalformedMessageError listing every failing field. */
export const assertValid = <T extends TSchema>(schema: T, value: unknown, what: string): Static<T> => {
  const issues = validationIssues(schema, value);
  if (issues.length > 0) {
    throw new MalformedMessageError(`${what} is invalid: ${formatIssues(issues)}`, { issues });
  }
  return value as Static<T>;
};

/** Stateless between calls (no `stream` option), so one serves every message. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses JSON bytes, turning a parse failure into MalformedMessageError. */
export const parseJson = (data: Uint8Array, what: string): unknown => {
  if (data.length === 0) return {};
  try {
    return JSON.parse(utf8.decode(data)) as unknown;
  } catch (err) {
    throw new MalformedMessageError(`${what} is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
};

/** A schema as a JSON Schema file's text (the files exported for the Python programs). */
export const jsonSchemaFile = (schema: TSchema): string => `${JSON.stringify(schema, null, 2)}\n`;
