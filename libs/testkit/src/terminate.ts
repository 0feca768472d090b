import type { ChildProcess } from "node:child_process";

/** Sends SIGTERM and waits until the process has exited (at once if it already has). */
export function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
