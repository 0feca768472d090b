import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { inNetns } from "./exec.js";
import type { LabHost } from "./host.js";
import type { Lab } from "./lab.js";

const SCRIPT = fileURLToPath(new URL("underlay_capture.py", import.meta.url));

/** Tunnel packets seen on the underlay, by "gre:<key>" / "vxlan:<vni>": all, and those carrying an ICMP echo. */
export type TunnelCapture = Record<string, { packets: number; icmp: number }>;

/**
 * Captures, for `seconds`, what crosses the underlay port of `host` (its veth in the
 * underlay namespace: every packet to and from it), running `during` once the capture
 * is listening; see underlay_capture.py.
 */
export const captureTunnels = async (
  lab: Lab,
  host: LabHost,
  seconds: number,
  during: () => Promise<unknown>,
): Promise<TunnelCapture> => {
  const [bin, ...args] = inNetns(lab.underlayNs, ["python3", SCRIPT, lab.underlayPort(host), String(seconds)]);
  const child = spawn(bin as string, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = once(child, "exit") as Promise<[number | null]>;
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("ready\n")) resolve();
    });
    void exited.then(([code]) => reject(new Error(`underlay capture exited with ${code}: ${err.trim()}`)));
  });
  await during();
  const [code] = await exited;
  if (code !== 0) throw new Error(`underlay capture exited with ${code}: ${err.trim()}`);
  return JSON.parse(out.slice("ready\n".length)) as TunnelCapture;
};
