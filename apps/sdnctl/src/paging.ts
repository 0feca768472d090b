/**
 * Paged list routes: `list` follows nextCursor and prints every page as one list (so the
 * output is the same however the API pages); `--limit` and `--cursor` ask for one page and
 * tell where the next one starts.
 */
import { InvalidArgumentError, Option, type Command, type OptionValues } from "@commander-js/extra-typings";
import { MAX_PAGE_LIMIT } from "@sdn/contracts";
import type { Session } from "./session.js";

export interface PageFlags {
  limit?: number;
  cursor?: string;
}

const pageLimit = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_LIMIT) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_PAGE_LIMIT}.`);
  }
  return n;
};

/** Adds --limit and --cursor to a list command. */
export const withPageOptions = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) =>
  cmd
    .addOption(
      new Option("--limit <n>", "one page of at most n items; prints the --cursor of the next page").argParser(
        pageLimit,
      ),
    )
    .addOption(new Option("--cursor <cursor>", "the page after the one that printed this cursor"));

/** A page as the API answers it: its items under one field, and nextCursor while more follow. */
type PageBody<K extends string, T> = Record<K, T[]> & { nextCursor?: string };

const withQuery = (path: string, query: Record<string, string | undefined>): string => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
  const text = params.toString();
  return text === "" ? path : `${path}?${text}`;
};

/**
 * Gets a paged list and prints it with `show`: every page joined (no nextCursor), or with
 * --limit / --cursor the one page asked for, its nextCursor on stderr (--json: in the body).
 */
export const listPages = async <K extends string, T>(
  s: Session,
  request: { path: string; query?: Record<string, string | undefined>; field: K },
  flags: PageFlags,
  show: (items: T[]) => void,
): Promise<void> => {
  const get = (cursor: string | undefined, limit: number | undefined) =>
    s.client.get<PageBody<K, T>>(withQuery(request.path, { ...request.query, limit: limit?.toString(), cursor }));
  if (flags.limit !== undefined || flags.cursor !== undefined) {
    const page = await get(flags.cursor, flags.limit);
    s.out.result(page, (p) => {
      show(p[request.field]);
      if (p.nextCursor !== undefined) s.out.notice(`more: add --cursor ${p.nextCursor}`);
    });
    return;
  }
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    // The largest pages: fewest round trips for the whole list.
    const page = await get(cursor, MAX_PAGE_LIMIT);
    items.push(...page[request.field]);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  s.out.result({ [request.field]: items } as Record<K, T[]>, (all) => show(all[request.field]));
};
