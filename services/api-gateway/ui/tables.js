// The tables of the view: one per kind, every cell text.

import { el, show, table } from "./dom.js";
import { healthText, hostNames, visibleHosts } from "./model.js";

/** @typedef {import("./model.js").Model} Model */

const dash = (/** @type {string | undefined} */ s) => (s === undefined || s === "" ? "—" : s);

/** @param {Model} model */
export const renderTables = (model) => {
  const hostName = hostNames(model);
  const networkName = (/** @type {string} */ id) => model.networks.find((n) => n.id === id)?.name ?? id;
  const hostsOf = (/** @type {string} */ networkId) =>
    [...new Set(model.nics.filter((n) => n.networkId === networkId).map((n) => hostName(n.hostId)))].sort();

  const tenant = model.hosts.forbidden === true;
  show(
    "hosts",
    ...(tenant
      ? [el("p", { class: "hint" }, "Host details are for admins: these are the hosts your NICs and tunnels use.")]
      : []),
    ...note(model.hosts.error),
    table(
      "hosts",
      [
        { title: "Name", value: (h) => h.name },
        { title: "Hypervisor", value: (h) => dash(h.hypervisor) },
        { title: "State", value: (h) => dash(h.state), state: true },
        { title: "Platform", value: (h) => dash(`${h.platform.name} ${h.platform.version}`.trim()) },
        { title: "OVS", value: (h) => dash(h.platform.ovsVersion) },
        { title: "Tunnel IP", value: (h) => dash(h.tunnelInterface.ip) },
      ],
      visibleHosts(model),
      (h) => h.id,
    ),
  );
  show(
    "networks",
    table(
      "networks",
      [
        { title: "Name", value: (n) => n.name },
        { title: "CIDR", value: (n) => n.cidr },
        { title: "State", value: (n) => n.state, state: true },
        { title: "Description", value: (n) => dash(n.description) },
        { title: "Hosts", value: (n) => dash(hostsOf(n.id).join(", ")) },
      ],
      model.networks,
      (n) => n.id,
    ),
  );
  const withHealth = model.tunnels.some((t) => healthText(t.health) !== "");
  // Underlay addresses are shown to admins only: a tenant's rows have none, so no column.
  const withUnderlay = model.tunnels.some((t) => t.remoteIp !== undefined);
  show(
    "tunnels",
    table(
      "tunnels",
      [
        { title: "Network", value: (t) => networkName(t.networkId) },
        { title: "From", value: (t) => hostName(t.from) },
        { title: "To", value: (t) => hostName(t.to) },
        ...(withUnderlay
          ? [{ title: "Remote IP", value: (/** @type {import("./model.js").Tunnel} */ t) => dash(t.remoteIp) }]
          : []),
        { title: "State", value: (t) => t.state, state: true },
        ...(withHealth
          ? [
              {
                title: "Health",
                value: (/** @type {import("./model.js").Tunnel} */ t) => dash(healthText(t.health)),
                state: true,
              },
            ]
          : []),
        { title: "Last error", value: (t) => dash(t.lastError ?? "") },
      ],
      model.tunnels,
      (t) => `${t.networkId}/${t.from}/${t.to}`,
    ),
  );
  show(
    "nics",
    table(
      "nics",
      [
        { title: "Network", value: (n) => networkName(n.networkId) },
        { title: "VM", value: (n) => n.vmId },
        { title: "Host", value: (n) => hostName(n.hostId) },
        { title: "Device", value: (n) => n.device },
        { title: "IP", value: (n) => n.ip },
        { title: "MAC", value: (n) => n.mac },
        { title: "Role", value: (n) => n.role },
        { title: "State", value: (n) => n.state, state: true },
        { title: "Hostname", value: (n) => dash(n.hostname) },
      ],
      model.nics,
      (n) => n.id,
    ),
  );
  show(
    "routers",
    ...(model.routers.forbidden === true
      ? [el("p", { class: "hint" }, "Routers are managed by admins.")]
      : [
          ...note(model.routers.error),
          table(
            "routers",
            [
              { title: "Name", value: (r) => r.name },
              { title: "State", value: (r) => r.state, state: true },
              { title: "Generation (applied / pushed)", value: (r) => `${r.appliedGeneration} / ${r.generation}` },
              { title: "Host", value: (r) => hostName(r.hostId) },
              { title: "Networks", value: (r) => r.networkIds.map(networkName).join(", ") },
              { title: "Last error", value: (r) => dash(r.lastError?.message) },
            ],
            /** @type {import("./model.js").Router[]} */ (model.routers.rows),
            (r) => r.id,
          ),
        ]),
  );
};

/** @param {string | undefined} error */
const note = (error) => (error === undefined ? [] : [el("p", { class: "error" }, error)]);
