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

  it("accepts what sdn_ovs.py answers for the results the agent reads itself", () => {
    // The shapes of sdn_ovs.py's ipsec_check, restore_flows, tunnel_health and host_info returns.
    const results: Record<string, unknown> = {
      ipsec_check: { bridge: "sdnbr-7" },
      restore_flows: { checked: 2, restored: [{ bridge: "sdnbr-7", networkId: "net-1" }] },
      tunnel_health: {
        tunnels: [
          {
            port: "gre7-0a630c",
            networkId: "net-1",
            remoteIp: "10.99.0.12",
            bfdEnabled: true,
            bfdStatus: { state: "up", forwarding: "true" },
          },
        ],
      },
      host_info: {
        version: "1.5.0",
        ovsVersion: "3.1.0",
        ovsdbSocket: "/var/run/openvswitch/db.sock",
        hostname: "kvm-1",
        os: "Debian GNU/Linux",
        osVersion: "12",
        kernel: "6.1.0",
        bridges: ["sdnbr-7"],
      },
    };
    for (const [fn, result] of Object.entries(results)) {
      expect(checkProgramAnswer("sdn-ovs-kvm", fn, { ok: true, result })).toEqual({ ok: true, result });
    }
    const noCount = { restored: [] };
    expect(refusal(() => checkProgramResult("sdn-ovs", "restore_flows", noCount)).hostError).toBe("BAD_OUTPUT");
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
