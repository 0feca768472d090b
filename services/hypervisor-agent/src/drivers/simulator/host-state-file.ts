import type { Hypervisor } from "@sdn/contracts";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { newHostState, type SimHostState } from "./simulated-host.js";

/** Calls on one state file in progress, so that every change reads what the last one wrote. */
const queues = new Map<string, Promise<unknown>>();

/**
 * A simulated host's state on disk: `<dir>/<address>.json`. Every call reads the file,
 * works on it and, if it changed anything, writes it back (temporary file, then rename):
 * the file is the host, so an agent restart — or any other driver of the same host in
 * this process — finds it as it was left, as a real host's OVS database would be.
 */
export class HostStateFile {
  readonly path: string;

  constructor(
    dir: string,
    private readonly address: string,
    private readonly hypervisor: Hypervisor,
  ) {
    this.path = join(dir, `${address}.json`);
  }

  /** Runs `work` on the host's state and writes it back if `work` changed it. */
  use<T>(work: (state: SimHostState) => T): Promise<T> {
    const previous = queues.get(this.path) ?? Promise.resolve();
    const mine = previous
      .catch(() => undefined)
      .then(async () => {
        const state = await this.load();
        const before = state.fresh ? "" : JSON.stringify(state.value);
        const result = work(state.value);
        if (JSON.stringify(state.value) !== before) await this.save(state.value);
        return result;
      });
    queues.set(this.path, mine);
    void mine
      .finally(() => {
        if (queues.get(this.path) === mine) queues.delete(this.path);
      })
      .catch(() => undefined);
    return mine;
  }

  private async load(): Promise<{ value: SimHostState; fresh: boolean }> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      return { value: newHostState(this.address, this.hypervisor), fresh: true };
    }
    return { value: JSON.parse(text) as SimHostState, fresh: false };
  }

  private async save(state: SimHostState): Promise<void> {
    await mkdir(join(this.path, ".."), { recursive: true });
    const temp = `${this.path}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}
