import { CommandError, DEFAULT_PAGE_LIMIT } from "@sdn/contracts";
import type { JsonBucket } from "./kv.js";

/** What a paged list command asks for (see PageLimit and PageCursor in @sdn/contracts). */
export interface PageRequest {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** One page of items; `nextCursor` only when entries remain after it. */
export interface Page<R> {
  items: R[];
  nextCursor?: string;
}

export interface KvListing<T, R> {
  /** The KV key filter of the listing, e.g. `<networkId>.>`. */
  filter: string;
  /** Whether a key is one of this listing's; a cursor naming any other key is refused. */
  isKey: (key: string) => boolean;
  /** The listing's order of keys; default: by UTF-16 code unit, the same on every replica. */
  order?: (a: string, b: string) => number;
  /** The items one entry contributes; none when the caller may not see it. */
  itemsOf: (key: string, value: T) => R[] | Promise<R[]>;
  /**
   * About how many items one entry holds, given how many keys the listing has (a tunnel set
   * holds one row per other host), so that a page reads about as many entries as it needs.
   */
  itemsPerEntry?: (keyCount: number) => number;
}

const MIN_SCAN_ITEMS = 32;

/** The order of keys unless a listing says otherwise: locale-free, so stable across hosts. */
export const keyOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The cursor of a page that ended at `key`: base64url, so that callers treat it as opaque. */
export const cursorAfter = (key: string): string => Buffer.from(key, "utf8").toString("base64url");

const badCursor = (): CommandError => {
  const message = "cursor is not a nextCursor of this listing; start again without a cursor";
  return new CommandError("VALIDATION_FAILED", message, { issues: [{ path: "/cursor", message }] });
};

/** The key a cursor continues after; VALIDATION_FAILED naming `cursor` when it is not one of ours. */
export const keyOfCursor = (cursor: string, isKey: (key: string) => boolean): string => {
  const key = Buffer.from(cursor, "base64url").toString("utf8");
  // Re-encoding catches text that is not canonical base64url of valid UTF-8.
  if (cursorAfter(key) !== cursor || !isKey(key)) throw badCursor();
  return key;
};

/**
 * One page of a KV listing: lists the keys only (cheap), sorts them, and reads just the
 * entries after the cursor that the page needs, a batch at a time. Items of one entry
 * stay on one page: the page ends before an entry that would take it past `limit`, unless
 * that entry is the first (so an entry larger than the limit still comes, alone).
 * Entries the caller may not see are skipped and scanning goes on, so every page but the
 * last is full and `nextCursor` is absent exactly when nothing visible follows (one entry
 * is read beyond the page to know). The cursor is the key of the page's last entry, so entries
 * created or deleted between pages neither repeat nor shift the ones after it. It is never
 * a skipped key: those are other accounts' entries, and a cursor is only base64url.
 */
export const readPage = async <T, R>(
  bucket: JsonBucket<T>,
  request: PageRequest,
  listing: KvListing<T, R>,
): Promise<Page<R>> => {
  const limit = request.limit ?? DEFAULT_PAGE_LIMIT;
  const order = listing.order ?? keyOrder;
  const after = request.cursor === undefined ? undefined : keyOfCursor(request.cursor, listing.isKey);
  const all = (await bucket.keys(listing.filter)).filter(listing.isKey).sort(order);
  const keys = after === undefined ? all : all.filter((k) => order(k, after) > 0);
  const perEntry = Math.max(1, listing.itemsPerEntry?.(all.length) ?? 1);
  // Enough entries to fill the rest of the page, plus one to know whether more follow;
  // never too few, so that skipping entries the caller may not see is not one read at a time.
  const batchSize = (have: number) => Math.ceil(Math.max(limit - have, MIN_SCAN_ITEMS) / perEntry) + 1;

  const items: R[] = [];
  let lastOnPage: string | undefined;
  let examined = 0;
  while (examined < keys.length) {
    const chunk = keys.slice(examined, examined + batchSize(items.length));
    const read = await Promise.all(
      chunk.map(async (key) => {
        const entry = await bucket.get(key);
        return entry === undefined ? [] : listing.itemsOf(key, entry.value);
      }),
    );
    for (const entryItems of read) {
      if (entryItems.length > 0 && items.length > 0 && items.length + entryItems.length > limit) {
        return { items, nextCursor: cursorAfter(lastOnPage as string) };
      }
      if (entryItems.length > 0) {
        items.push(...entryItems);
        lastOnPage = keys[examined];
      }
      examined++;
    }
  }
  return { items };
};

/** A page as an answer's data: its items under `field`, and nextCursor when more follow. */
export const pageData = <K extends string, R>(field: K, page: Page<R>): Record<K, R[]> & { nextCursor?: string } =>
  ({
    [field]: page.items,
    ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
  }) as Record<K, R[]> & { nextCursor?: string };

/** A page's note for an answer's one-line summary. */
export const pageNote = (page: Page<unknown>): string =>
  page.nextCursor === undefined ? "" : ", more on the next page";
