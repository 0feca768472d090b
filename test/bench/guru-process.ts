import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const guruMain = fileURLToPath(new URL("../../services/network-guru/src/main.ts", import.meta.url));

/**
 * A guru replica in its own process, as deployed (the bench process plays the gateway).
 * With SDN_BENCH_CPU_PROF=1 each replica writes a V8 CPU profile to .data/bench-profiles.
 */
export const spawnGuru = (natsUrl: string): ChildProcess =>
  spawn(
    process.execPath,
    [
      ...(process.env["SDN_BENCH_CPU_PROF"] ? ["--cpu-prof", "--cpu-prof-dir=.data/bench-profiles"] : []),
      "--import",
      "tsx",
      "--conditions=sdn-source",
      guruMain,
    ],
    {
      env: { ...process.env, NATS_URL: natsUrl, LOG_LEVEL: "warn" },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );

export const stopGuru = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });

/** Linux clock ticks per second, the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS = 100;

/** CPU milliseconds (user + system) a process has used so far. */
export const cpuMsOf = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
};
