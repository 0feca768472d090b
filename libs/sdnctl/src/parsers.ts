/** Option value parsers; commander reports their errors as usage errors naming the option. */
import { InvalidArgumentError } from "@commander-js/extra-typings";

export const positiveSeconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number of seconds above 0.");
  return n;
};

export const positiveInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a whole number above 0.");
  return n;
};

/** A comma-separated list, e.g. `--dns 1.1.1.1,9.9.9.9`; empty items are dropped. */
export const commaList = (value: string): string[] =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
