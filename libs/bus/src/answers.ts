import { answerSchema, type Answer, type CommandDefinition, type ErrorBody, type ResponseOf } from "@sdn/contracts";
import type { TSchema } from "@sdn/typebox";
import { CommandFailedError } from "./errors.js";
import { assertValid } from "./validation.js";

const answerSchemas = new WeakMap<TSchema, TSchema>();

/** The schema of an answer to `def` (ok with its response, or an error body), built once per command. */
export const answerSchemaOf = (def: CommandDefinition): TSchema => {
  let s = answerSchemas.get(def.response);
  if (s === undefined) {
    s = answerSchema(def.response);
    answerSchemas.set(def.response, s);
  }
  return s;
};

/**
 * An answer to `def` as received, checked against its contract: whatever answered (a
 * service, an agent) is a boundary, so a malformed answer is MalformedMessageError here
 * rather than a wrong value somewhere downstream.
 */
export const checkAnswer = <C extends CommandDefinition>(def: C, value: unknown): Answer<ResponseOf<C>> =>
  assertValid(answerSchemaOf(def), value, `answer to ${def.name}`) as Answer<ResponseOf<C>>;

/**
 * The one way to unwrap an answer: its data, or the error `fail` makes of its error body
 * (CommandFailedError, carrying the code, message and details unchanged, by default).
 */
export const unwrapAnswer = <T>(
  command: string,
  answer: Answer<T>,
  fail: (error: ErrorBody) => Error = (error) => new CommandFailedError(command, error),
): T => {
  if (!answer.ok) throw fail(answer.error);
  return answer.data;
};
