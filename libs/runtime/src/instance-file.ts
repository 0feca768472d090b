import { readFile, rename, rm, writeFile } from "node:fs/promises";

/**
 * Where a process records who it is on the bus, so that a check running beside it (the
 * container's HEALTHCHECK) can ask this process, not whichever replica a queue group picks.
 */
export interface InstanceRecord {
  service: string;
  instanceId: string;
  /** The NATS micro id: `$SRV.PING.<service>.<microId>` reaches this process only. */
  microId: string;
  pid: number;
}

export const writeInstanceFile = async (path: string, record: InstanceRecord): Promise<void> => {
  // Temp + rename: a check reading at the same moment sees the old record or the new one.
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(record)}\n`, { mode: 0o644 });
  await rename(temp, path);
};

/** Removes the record if it is still this instance's (a newer process may have replaced it). */
export const removeInstanceFile = async (path: string, instanceId: string): Promise<void> => {
  const current = await readFile(path, "utf8").catch(() => undefined);
  if (current === undefined) return;
  try {
    if ((JSON.parse(current) as Partial<InstanceRecord>).instanceId !== instanceId) return;
  } catch {
    // Unreadable: not ours to judge, but not useful to anyone either.
  }
  await rm(path, { force: true });
};
