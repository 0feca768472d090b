// The API as this tab's token sees it. The token lives in sessionStorage (gone with the tab)
// and is sent only in the Authorization header of requests to this gateway, never in a URL.

const TOKEN_KEY = "sdn-token";
/** The API's root, relative to the page (/ui/ -> /), so a proxy may mount the gateway anywhere. */
const API_ROOT = new URL("../", document.baseURI);

export const savedToken = () => sessionStorage.getItem(TOKEN_KEY);
/** @param {string} token */
export const saveToken = (token) => sessionStorage.setItem(TOKEN_KEY, token);
export const forgetToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** An error answer of the API: its status and the error model's code and message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {string} path relative to the API root, e.g. "v1/networks"
 * @param {AbortSignal} [signal]
 * @returns {Promise<Response>}
 */
export const call = async (path, signal) =>
  fetch(new URL(path, API_ROOT), {
    headers: { authorization: `Bearer ${savedToken() ?? ""}`, accept: "application/json" },
    cache: "no-store",
    credentials: "omit",
    ...(signal === undefined ? {} : { signal }),
  });

/**
 * GET a JSON resource; an error answer throws ApiError.
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @returns {Promise<Record<string, unknown>>}
 */
export const getJson = async (path, signal) => {
  const res = await call(path, signal);
  const body = asRecord(await res.json().catch(() => ({})));
  if (!res.ok) {
    const error = /** @type {{ code?: string, message?: string } | undefined} */ (body["error"]);
    throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? res.statusText);
  }
  return body;
};

/**
 * Every page of a listing, following nextCursor.
 * @param {string} path
 * @param {string} field the answer's array
 * @param {AbortSignal} [signal]
 * @returns {Promise<unknown[]>}
 */
export const getAll = async (path, field, signal) => {
  /** @type {unknown[]} */
  const items = [];
  /** @type {unknown} */
  let cursor;
  do {
    const page = await getJson(
      typeof cursor === "string" ? `${path}?cursor=${encodeURIComponent(cursor)}` : path,
      signal,
    );
    const list = page[field];
    if (isList(list)) items.push(...list);
    cursor = page["nextCursor"];
  } while (typeof cursor === "string");
  return items;
};

/**
 * @param {unknown} value
 * @returns {Record<string, unknown>}
 */
const asRecord = (value) => (typeof value === "object" && value !== null ? { ...value } : {});

/**
 * @param {unknown} value
 * @returns {value is unknown[]}
 */
export const isList = (value) => Array.isArray(value);
