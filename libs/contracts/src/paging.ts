import Type from "@sdn/typebox";

/**
 * Cursor paging of list commands. A page holds at most `limit` items; `nextCursor` is there
 * when more may follow and goes back as `cursor` to get them. The cursor is opaque to
 * callers (services encode the last key they listed), so its format may change.
 */
export const DEFAULT_PAGE_LIMIT = 500;
export const MAX_PAGE_LIMIT = 1000;

export const PageLimit = Type.Integer({
  minimum: 1,
  maximum: MAX_PAGE_LIMIT,
  default: DEFAULT_PAGE_LIMIT,
  description: `Most items on one page (1-${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT})`,
  examples: [100],
});

/** base64url text; bounded so that a cursor cannot carry a large payload. */
const cursorSchema = (description: string) =>
  Type.String({
    pattern: "^[A-Za-z0-9_-]{1,1024}$",
    description,
    examples: ["M2YwYzFkMmUtNGI1YS00YzZkLThlOWYtYTBiMWMyZDNlNGY1"],
  });

export const PageCursor = cursorSchema("Opaque: the nextCursor of the previous page, to get the page after it");

/** The request fields of a paged list command. */
export const pageRequestFields = {
  limit: Type.Optional(PageLimit),
  cursor: Type.Optional(PageCursor),
};

/** The answer field of a paged list command. */
export const nextCursorField = {
  nextCursor: Type.Optional(cursorSchema("Send as cursor to get the next page; absent on the last page")),
};
