import { fileURLToPath } from "node:url";
import { waitFor } from "@sdn/testkit";
import { execQuiet, inNetns } from "../lab/index.js";
import { startIn } from "../vr-manager/router-lab.js";

/** The quickstart's web server and client (web.py), run inside lab namespaces. */
const WEB = fileURLToPath(new URL("web.py", import.meta.url));

/** The page at `url` as seen from namespace `ns`, or undefined when nothing answered. */
export const fetchPage = async (ns: string, url: string, timeoutS = 3): Promise<string | undefined> => {
  const r = await execQuiet(inNetns(ns, ["python3", WEB, "get", url, "--timeout", String(timeoutS)]));
  return r.code === 0 ? r.stdout.trim() : undefined;
};

/**
 * Starts a web server on `port` in namespace `ns` (the lab's clean-up ends it with the
 * namespace) and waits until it answers; its page is "<greeting>; you came from <client>".
 */
export const serveWeb = async (ns: string, port: number, greeting: string): Promise<void> => {
  startIn(ns, ["python3", WEB, "serve", String(port), greeting]);
  await waitFor(
    `the web server in ${ns} on :${port}`,
    async () => ((await fetchPage(ns, `http://127.0.0.1:${port}/`, 1)) === undefined ? undefined : true),
    10_000,
    100,
  );
};
