#!/usr/bin/env node
// The `sdnctl` bin. The program is built into dist/ by `npm run build`; this small file is
// committed so that npm links the bin at install time, before anything is built (npm skips
// a bin whose file does not exist yet).
import process from "node:process";
import { URL } from "node:url";

const main = new URL("../dist/main.js", import.meta.url);
try {
  await import(main.href);
} catch (err) {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes(main.pathname)) {
    process.stderr.write("sdnctl is not built yet: run `npm run build` in the repository first\n");
    process.exit(1);
  }
  throw err;
}
