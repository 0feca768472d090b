// The topology picture: hosts on a ring, networks inside it, a dashed line from a network to
// each host that has NICs in it, and one solid line per pair of hosts with tunnels, coloured
// by the worst of them (any Failed or unhealthy: red; any not yet Established: grey).

import { svgEl } from "./dom.js";
import { healthText, visibleHosts } from "./model.js";

/** @typedef {import("./model.js").Model} Model */

const WIDTH = 800;
const HEIGHT = 520;
const CENTER = { x: WIDTH / 2, y: HEIGHT / 2 };
const HOST_RING = 210;
const NETWORK_RING = 90;

/**
 * Points evenly on a circle (one item: the centre when the radius may collapse).
 * @param {number} count
 * @param {number} radius
 */
const ring = (count, radius) =>
  Array.from({ length: count }, (_, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / count;
    const r = count === 1 && radius === NETWORK_RING ? 0 : radius;
    return { x: Math.round(CENTER.x + r * Math.cos(angle)), y: Math.round(CENTER.y + r * Math.sin(angle)) };
  });

/**
 * @param {import("./model.js").Tunnel} t
 * @returns {number} 0 ok, 1 pending, 2 failed
 */
const severity = (t) => {
  const health = healthText(t.health).toLowerCase();
  if (t.state === "Failed" || health === "down" || health === "failed") return 2;
  return t.state === "Established" ? 0 : 1;
};
const SEVERITY_CLASS = ["tunnel", "tunnel pending", "tunnel failed"];

/**
 * @param {Model} model
 * @returns {SVGElement}
 */
export const topology = (model) => {
  const hosts = visibleHosts(model);
  const hostAt = new Map(hosts.map((h, i) => [h.id, ring(hosts.length, HOST_RING)[i]]));
  const networkAt = new Map(model.networks.map((n, i) => [n.id, ring(model.networks.length, NETWORK_RING)[i]]));

  /** @type {SVGElement[]} */
  const lines = [];
  const members = new Set(model.nics.map((n) => `${n.networkId} ${n.hostId}`));
  for (const pair of members) {
    const [networkId = "", hostId = ""] = pair.split(" ");
    const a = networkAt.get(networkId);
    const b = hostAt.get(hostId);
    if (a !== undefined && b !== undefined) lines.push(line(a, b, "member"));
  }
  /** @type {Map<string, number>} */
  const pairs = new Map();
  for (const t of model.tunnels) {
    const key = [t.from, t.to].sort().join(" ");
    pairs.set(key, Math.max(pairs.get(key) ?? 0, severity(t)));
  }
  for (const [key, worst] of pairs) {
    const [from = "", to = ""] = key.split(" ");
    const a = hostAt.get(from);
    const b = hostAt.get(to);
    if (a !== undefined && b !== undefined) lines.push(line(a, b, SEVERITY_CLASS[worst] ?? "tunnel"));
  }

  const hostNodes = hosts.map((h) => {
    const p = hostAt.get(h.id) ?? CENTER;
    const label = h.state === "" ? h.name : `${h.name} (${h.state})`;
    return svgEl(
      "g",
      { "data-host": h.id },
      svgEl("title", {}, label),
      svgEl("circle", { cx: p.x, cy: p.y, r: 16, class: h.state === "Disconnected" ? "host down" : "host" }),
      svgEl("text", { x: p.x, y: p.y + 32, "text-anchor": "middle" }, label),
    );
  });
  const networkNodes = model.networks.map((n) => {
    const p = networkAt.get(n.id) ?? CENTER;
    return svgEl(
      "g",
      { "data-network": n.id },
      svgEl("title", {}, `${n.name} ${n.cidr}`),
      svgEl("rect", { x: p.x - 12, y: p.y - 12, width: 24, height: 24, rx: 4, class: "network" }),
      svgEl("text", { x: p.x, y: p.y + 28, "text-anchor": "middle" }, n.name),
    );
  });
  return svgEl(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": "Topology of hosts, networks and tunnels" },
    ...lines,
    ...networkNodes,
    ...hostNodes,
  );
};

/**
 * @param {{ x: number, y: number }} a
 * @param {{ x: number, y: number }} b
 * @param {string} cls
 */
const line = (a, b, cls) => svgEl("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: cls });
