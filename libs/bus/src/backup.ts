import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { SERVICE_NAMES } from "@sdn/contracts";
import { BusError } from "./errors.js";
import { storageOf } from "./storage.js";
import { retryTransient } from "./transient.js";

/**
 * Backup and restore of the controller's state: every KV bucket the services own, as JSON
 * lines (a header, then per bucket its settings and its entries, then a trailer that counts
 * them, so a cut file is refused). The command, answer and event streams are not included:
 * they hold messages in transit and history, not state (a job's outcome is in a bucket).
 * Sealed secrets stay sealed: a restore needs the same SDN_SECRET_KEY (or key files).
 */

export const BACKUP_FORMAT = "sdn-backup";
export const BACKUP_VERSION = 1;

/** Buckets of the services: `sdn…` and the gateway's `gw_…`. */
const OWNED = /^(sdn|gw_)/;
/** Claims that mean something only while their holder runs: never restored. */
const EPHEMERAL = new Set(["sdn-host-leases", "sdn_vr_locks"]);

type Line =
  | { format: typeof BACKUP_FORMAT; version: number; createdAt: string }
  | { bucket: string; history: number; ttlMs: number }
  | { bucket: string; key: string; value: string }
  | { end: true; buckets: number; entries: number };

export class BackupError extends BusError {
  override readonly name = "BackupError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("VALIDATION_FAILED", message, undefined, options);
  }
}

const bucketsOf = async (nc: NatsConnection): Promise<string[]> => {
  const names: string[] = [];
  for await (const status of new Kvm(nc).list()) {
    if (OWNED.test(status.bucket) && !EPHEMERAL.has(status.bucket)) names.push(status.bucket);
  }
  return names.sort();
};

/** Writes the whole state, line by line; returns what it wrote. */
export const backupState = async (
  nc: NatsConnection,
  write: (line: string) => Promise<void> | void,
): Promise<{ buckets: number; entries: number }> => {
  const kvm = new Kvm(nc);
  const emit = (line: Line) => write(`${JSON.stringify(line)}\n`);
  await emit({ format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: new Date().toISOString() });
  const buckets = await bucketsOf(nc);
  let entries = 0;
  for (const bucket of buckets) {
    const kv = await kvm.open(bucket);
    const status = await kv.status();
    await emit({ bucket, history: status.history, ttlMs: status.ttl });
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    for (const key of keys.sort()) {
      const e = await retryTransient(() => kv.get(key));
      if (e === null || e.operation !== "PUT") continue;
      await emit({ bucket, key, value: Buffer.from(e.value).toString("base64") });
      entries++;
    }
  }
  await emit({ end: true, buckets: buckets.length, entries });
  return { buckets: buckets.length, entries };
};

/** Any running replica of a service would fight a restore; the caller is told which. */
export const runningServices = async (nc: NatsConnection): Promise<string[]> => {
  const found = new Set<string>();
  await Promise.all(
    SERVICE_NAMES.map(async (name) => {
      try {
        const replies = await nc.requestMany(`$SRV.PING.${name}`, undefined, { strategy: "timer", maxWait: 500 });
        for await (const m of replies) if (m.data.length > 0) found.add(name);
      } catch (err) {
        if (!(err instanceof errors.NoRespondersError)) throw err;
      }
    }),
  );
  return [...found].sort();
};

const parse = (text: string): Line[] => {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l) as Line;
    } catch (err) {
      throw new BackupError(`line ${i + 1} of the backup is not JSON`, { cause: err });
    }
  });
  const head = parsed[0];
  if (head === undefined || !("format" in head) || head.format !== BACKUP_FORMAT) {
    throw new BackupError("this is not a backup of the controller (its first line names no sdn-backup format)");
  }
  if (head.version !== BACKUP_VERSION) {
    throw new BackupError(
      `backup format version ${head.version} is not supported (this build reads ${BACKUP_VERSION})`,
    );
  }
  const tail = parsed.at(-1);
  const entries = parsed.filter((l) => "key" in l).length;
  const buckets = parsed.filter((l) => "history" in l).length;
  if (tail === undefined || !("end" in tail) || tail.entries !== entries || tail.buckets !== buckets) {
    throw new BackupError("the backup is incomplete (its trailer is missing or does not match its contents)");
  }
  return parsed;
};

/**
 * Restores a backup into the connected deployment, with its replica count. Refused while a
 * service runs, and over existing state unless `replace` (which empties each bucket first).
 */
export const restoreState = async (
  nc: NatsConnection,
  text: string,
  opts: { replace?: boolean } = {},
): Promise<{ buckets: number; entries: number }> => {
  const lines = parse(text);
  const running = await runningServices(nc);
  if (running.length > 0) {
    throw new BackupError(`stop the services before a restore: ${running.join(", ")} still running`);
  }
  const kvm = new Kvm(nc);
  const jsm = await jetstreamManager(nc);
  const { replicas } = storageOf(nc);
  const settings = lines.filter((l): l is Extract<Line, { history: number }> => "history" in l);
  if (!opts.replace) {
    for (const { bucket } of settings) {
      const info = await jsm.streams.info(`KV_${bucket}`).catch(() => null);
      if (info !== null && info.state.messages > 0) {
        throw new BackupError(`bucket ${bucket} already holds state; restore with --replace to overwrite it`);
      }
    }
  }
  const opened = new Map<string, Awaited<ReturnType<Kvm["create"]>>>();
  for (const { bucket, history, ttlMs } of settings) {
    const kv = await kvm.create(bucket, { history, replicas, ...(ttlMs > 0 ? { ttl: ttlMs } : {}) });
    if (opts.replace) await jsm.streams.purge(`KV_${bucket}`);
    opened.set(bucket, kv);
  }
  let entries = 0;
  for (const line of lines) {
    if (!("key" in line)) continue;
    const kv = opened.get(line.bucket);
    if (kv === undefined)
      throw new BackupError(`entry ${line.key} names bucket ${line.bucket}, which has no settings line`);
    await retryTransient(() => kv.put(line.key, Buffer.from(line.value, "base64")));
    entries++;
  }
  return { buckets: settings.length, entries };
};
