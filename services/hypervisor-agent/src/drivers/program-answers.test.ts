import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HostProgramError } from "./errors.js";
import { HOST_PROGRAMS_DIR } from "./host-programs.js";
import { checkProgramAnswer, checkProgramResult, programSchemaFiles } from "./program-answers.js";

const refusal = (fn: () => unknown): HostProgramError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof HostProgramError) return err;
    throw err;
  }
  throw new Error("accepted");
};

describe("host program answers", () => {
  it("passes a well-formed answer's result on", () => {
    const answer = { ok: true, result: { bridge: "sdnbr-1", created: false } };
    expect(checkProgramAnswer("sdn-ovs-kvm", "setup_bridge", answer)).toEqual(answer);
    expect(
      checkProgramAnswer("sdn-ovs-kvm", "setup_bridge", { ok: false, error: { code: "X", message: "m" } }),
    ).toEqual({ ok: false, error: { code: "X", message: "m" } });
  });

  it("refuses a result that breaks its function's schema with BAD_OUTPUT, naming the field", () => {
    const err = refusal(() => checkProgramAnswer("sdn-ovs-kvm", "setup_bridge", { ok: true, result: { bridge: 7 } }));
    expect(err.hostError).toBe("BAD_OUTPUT");
    expect(err.message).toMatch(/sdn-ovs-kvm setup_bridge's answer|setup_bridge's result/);
    expect(err.message).toMatch(/bridge|created/);
  });

  it("refuses an envelope that is neither a result nor an error", () => {
    expect(refusal(() => checkProgramAnswer("sdn-ovs-kvm", "list_vms", { ok: false })).hostError).toBe("BAD_OUTPUT");
    expect(refusal(() => checkProgramAnswer("sdn-ovs-kvm", "list_vms", ["ok"])).hostError).toBe("BAD_OUTPUT");
  });

  it("checks the XAPI plugin's bare results the same way", () => {
    expect(refusal(() => checkProgramResult("sdn-ovs", "version", { python: "3.6" })).hostError).toBe("BAD_OUTPUT");
    expect(checkProgramResult("sdn-ovs", "version", { version: "1", python: "3.6.8" })).toEqual({
      version: "1",
      python: "3.6.8",
    });
  });

  it("has its JSON Schema written next to the programs, up to date (npm run schemas)", () => {
    const dir = join(HOST_PROGRAMS_DIR, "schema");
    const files = programSchemaFiles();
    expect(readdirSync(dir).sort()).toEqual(Object.keys(files).sort());
    for (const [name, content] of Object.entries(files)) {
      expect(readFileSync(join(dir, name), "utf8"), `${name} is stale: run npm run schemas`).toBe(content);
    }
  });
});
