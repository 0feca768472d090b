import { type Datum, type Row, atomKey, atomsOf, mapOf } from "../datum.js";
import type { RowChange } from "../table-cache.js";
import { TAG_MANAGED, TAG_NETWORK } from "./tags.js";

/** Columns ovs-vswitchd writes on its own (status, not configuration): their changes are no drift. */
const STATUS_COLUMNS = new Set(["ofport", "mac_in_use", "error"]);
const OWNED_TABLES = new Set(["Bridge", "Port", "Interface"]);

/** A datum in a form where sets and maps compare equal whatever their order. */
function canonical(d: Datum | undefined): string {
  if (Array.isArray(d) && d[0] === "map") {
    return JSON.stringify(d[1].map(([k, v]) => `${atomKey(k)}=${atomKey(v)}`).sort());
  }
  return JSON.stringify(atomsOf(d).map(atomKey).sort());
}

function configChanged(old: Row, now: Row): boolean {
  const columns = new Set([...Object.keys(old), ...Object.keys(now)]);
  return [...columns].some((c) => !STATUS_COLUMNS.has(c) && canonical(old[c]) !== canonical(now[c]));
}

/**
 * The networks whose owned rows (tagged `sdn-managed=true`) were deleted or had their
 * configuration changed: what someone else did to what the controller built. A row that
 * appears is not drift (the controller adds rows; a stranger's untagged port changes our
 * bridge's `ports`, which is reported), nor is vswitchd filling in ofport, MAC or error.
 */
export function driftedNetworks(changes: readonly RowChange[]): string[] {
  const networks = new Set<string>();
  for (const c of changes) {
    if (!OWNED_TABLES.has(c.table) || c.old === undefined) continue;
    const tags = { ...mapOf(c.new?.external_ids), ...mapOf(c.old.external_ids) };
    if (tags[TAG_MANAGED] !== "true" || tags[TAG_NETWORK] === undefined) continue;
    if (c.new === undefined || configChanged(c.old, c.new)) networks.add(tags[TAG_NETWORK]);
  }
  return [...networks].sort();
}
