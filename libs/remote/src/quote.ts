/** Quotes one word for a POSIX shell. */
export const shellQuote = (word: string): string =>
  /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;

/** An argv as one command line for a POSIX shell, every word quoted as needed. */
export const shellCommand = (argv: readonly string[]): string => argv.map(shellQuote).join(" ");
