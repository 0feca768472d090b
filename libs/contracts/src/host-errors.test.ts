import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { codeOfHostError, HOST_ERRORS, hostErrorOf } from "./host-errors.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const programDirs = ["services/hypervisor-agent/host", "services/vr-manager/router"];

/** Every reason a Python host or router program raises: HostError("X", …) and Refused("X", …). */
const raisedReasons = (): Set<string> => {
  const found = new Set<string>();
  for (const dir of programDirs) {
    for (const name of readdirSync(join(root, dir))) {
      if (!(name.endsWith(".py") || name.startsWith("sdn-"))) continue;
      const text = readFileSync(join(root, dir, name), "utf8");
      for (const m of text.matchAll(/\b(?:HostError|Refused)\(\s*"([A-Z][A-Z_]+)"/g)) found.add(m[1]!);
      for (const m of text.matchAll(/super\(\)\.__init__\("([A-Z][A-Z_]+)"/g)) found.add(m[1]!);
      for (const m of text.matchAll(/SDN_HOST_ERROR<\/value><value>([A-Z][A-Z_]+)</g)) found.add(m[1]!);
    }
  }
  return found;
};

describe("the host programs' error catalogue", () => {
  it("lists every reason the Python programs raise", () => {
    const raised = raisedReasons();
    expect(raised.size).toBeGreaterThan(10);
    expect([...raised].filter((r) => !(r in HOST_ERRORS))).toEqual([]);
  });

  it("reads the reason off an answer's details and maps unknown ones to UNPROCESSABLE", () => {
    expect(hostErrorOf({ hostError: "BRIDGE_NOT_FOUND" })).toBe("BRIDGE_NOT_FOUND");
    expect(hostErrorOf({ hostError: "toString" })).toBeUndefined();
    expect(hostErrorOf(undefined)).toBeUndefined();
    expect(codeOfHostError("DEVICE_NOT_OWNED")).toBe("FORBIDDEN");
    expect(codeOfHostError("XENAPI_MISSING_PLUGIN")).toBe("UNPROCESSABLE");
  });
});
