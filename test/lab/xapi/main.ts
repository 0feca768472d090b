/**
 * Runs one emulated XAPI host as its own process (the lab starts it inside the host's
 * network namespace): `node --import tsx main.ts <config.json>`.
 */
import { readFileSync } from "node:fs";
import { XapiEmulator, type XapiEmulatorConfig } from "./server.js";

const configPath = process.argv[2];
if (configPath === undefined) {
  process.stderr.write("usage: main.ts <config.json>\n");
  process.exit(2);
}
const emulator = new XapiEmulator(JSON.parse(readFileSync(configPath, "utf8")) as XapiEmulatorConfig);
const url = await emulator.start();
process.stdout.write(`XAPI emulator listening on ${url}\n`);
const stop = () => void emulator.stop().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
