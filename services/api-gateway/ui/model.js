// Everything the view shows, read from the public API with this tab's token. Tenants get 403
// on the admin-only listings (hosts, routers): the view then shows hosts by id only.

import { ApiError, getAll, getJson, isList } from "./api.js";

/**
 * @typedef {{ id: string, name: string, hypervisor: string, state: string,
 *   platform: { name: string, version: string, ovsVersion?: string }, tunnelInterface: { ip: string } }} Host
 * @typedef {{ id: string, name: string, cidr: string, state: string, description?: string }} Network
 * @typedef {{ id: string, networkId: string, vmId: string, hostId: string, device: string, ip: string,
 *   mac: string, role: string, state: string, hostname?: string }} Nic
 * @typedef {{ networkId: string, from: string, to: string, remoteIp?: string, state: string,
 *   lastError: string | null, health?: unknown }} Tunnel
 * @typedef {{ id: string, name: string, hostId: string, networkIds: string[], state: string, generation: number,
 *   appliedGeneration: number, lastError?: { code: string, message: string } }} Router
 * @typedef {{ rows: unknown[], forbidden?: boolean, error?: string }} AdminPart
 * @typedef {{ hosts: AdminPart, routers: AdminPart, networks: Network[], nics: Nic[], tunnels: Tunnel[] }} Model
 */

/** The admin listings refused this token once (a tenant's): not asked again in this session. */
const FORBIDDEN = Promise.resolve({ rows: [], forbidden: true });

/**
 * @param {AbortSignal} signal
 * @param {boolean} tenant known to be a tenant's token
 * @returns {Promise<Model>}
 */
export const loadModel = async (signal, tenant) => {
  const [hosts, routers, networks] = await Promise.all([
    tenant ? FORBIDDEN : adminPart(getJson("v1/hosts", signal), "hosts"),
    tenant ? FORBIDDEN : adminPart(getJson("v1/routers", signal), "routers"),
    /** @type {Promise<Network[]>} */ (getAll("v1/networks", "networks", signal)),
  ]);
  const perNetwork = await Promise.all(
    networks.map(async (n) => {
      const base = `v1/networks/${encodeURIComponent(n.id)}`;
      const [nics, tunnels] = await Promise.all([
        getAll(`${base}/nics`, "nics", signal),
        getAll(`${base}/tunnels`, "tunnels", signal),
      ]);
      return { nics: /** @type {Nic[]} */ (nics), tunnels: /** @type {Tunnel[]} */ (tunnels) };
    }),
  );
  return {
    hosts,
    routers,
    networks,
    nics: perNetwork.flatMap((p) => p.nics),
    tunnels: perNetwork.flatMap((p) => p.tunnels),
  };
};

/**
 * A listing only admins may read: 403 means a tenant's token; any other failure but 401 is
 * shown in its section rather than hiding the rest (the routers' service may be down).
 * @param {Promise<Record<string, unknown>>} answer
 * @param {string} field
 * @returns {Promise<AdminPart>}
 */
const adminPart = async (answer, field) => {
  try {
    const rows = (await answer)[field];
    return { rows: isList(rows) ? rows : [] };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    if (error.status === 403) return { rows: [], forbidden: true };
    return { rows: [], error: `${error.code}: ${error.message}` };
  }
};

/**
 * The hosts to draw and list: the admin's listing, or for a tenant the ids its NICs and
 * tunnels are on.
 * @param {Model} model
 * @returns {Host[]}
 */
export const visibleHosts = (model) => {
  if (model.hosts.forbidden !== true) return /** @type {Host[]} */ (model.hosts.rows);
  const ids = new Set([...model.nics.map((n) => n.hostId), ...model.tunnels.flatMap((t) => [t.from, t.to])]);
  return [...ids].sort().map((id) => ({
    id,
    name: id,
    hypervisor: "",
    state: "",
    platform: { name: "", version: "" },
    tunnelInterface: { ip: "" },
  }));
};

/**
 * The name to show for a host id.
 * @param {Model} model
 * @returns {(id: string) => string}
 */
export const hostNames = (model) => {
  const names = new Map(visibleHosts(model).map((h) => [h.id, h.name]));
  return (id) => names.get(id) ?? id;
};

/**
 * A tunnel's health as text, whatever shape the API gives it (a field not every version has).
 * @param {unknown} health
 * @returns {string}
 */
export const healthText = (health) => {
  if (health === undefined || health === null) return "";
  if (typeof health === "string") return health;
  if (typeof health === "object") {
    const h = /** @type {Record<string, unknown>} */ (health);
    const summary = h["status"] ?? h["state"];
    return typeof summary === "string" ? summary : JSON.stringify(health);
  }
  return JSON.stringify(health);
};
