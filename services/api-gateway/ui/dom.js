// The only way the app builds DOM: values always go in as text nodes or attribute values,
// never as markup (the page's CSP also requires Trusted Types, so an HTML sink would throw).

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} children strings become text
 * @returns {HTMLElement}
 */
export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
};

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {(Node | string)[]} children strings become text
 * @returns {SVGElement}
 */
export const svgEl = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
};

/**
 * @template T
 * @typedef {{ title: string, value: (row: T) => string, state?: boolean }} Column
 */

/**
 * A table of rows, or a line saying there are none.
 * @template T
 * @param {string} name the table's data-table attribute (tests and styles find it by it)
 * @param {Column<T>[]} columns
 * @param {T[]} rows
 * @param {(row: T) => string} key each row's data-key
 * @returns {HTMLElement}
 */
export const table = (name, columns, rows, key) => {
  if (rows.length === 0) return el("p", { class: "empty", "data-table": name }, "None.");
  const head = el("tr", {}, ...columns.map((c) => el("th", { scope: "col" }, c.title)));
  const body = rows.map((row) =>
    el(
      "tr",
      { "data-key": key(row) },
      ...columns.map((c) => {
        const text = c.value(row);
        return el("td", c.state === true ? { class: `state-${text}` } : {}, text);
      }),
    ),
  );
  return el("table", { "data-table": name }, el("thead", {}, head), el("tbody", {}, ...body));
};

/**
 * Replaces what an element shows.
 * @param {string} id
 * @param {Node[]} nodes
 */
export const show = (id, ...nodes) => {
  const target = document.getElementById(id);
  if (target !== null) target.replaceChildren(...nodes);
};
