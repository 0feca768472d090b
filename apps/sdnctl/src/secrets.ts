/**
 * Secrets (passwords, private keys) come from files or stdin, never from the command
 * line, where other local users would see them in the process list.
 */
import { readFile } from "node:fs/promises";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";

/** The content of `path`, or of stdin for "-"; a password loses its trailing newline. */
export const readSecret = async (io: CliIo, path: string, what: string, trim: boolean): Promise<string> => {
  let text: string;
  try {
    text = path === "-" ? await io.readStdin() : await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read the ${what} from ${path}: ${(err as Error).message}`);
  }
  const value = trim ? text.replace(/\r?\n$/, "") : text;
  if (value === "") throw new UsageError(`the ${what} in ${path === "-" ? "stdin" : path} is empty`);
  return value;
};
