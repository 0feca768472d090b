import { CommandError } from "@sdn/contracts";
import { describe, expect, it } from "vitest";
import { AgentCallError } from "./agent-client.js";
import { plugRefusal } from "./plug-refusal.js";

const agentError = (code: CommandError["code"], hostError: string) =>
  new AgentCallError("host-1", "PlugVif", code, "said the host", { hostError });

describe("plugRefusal", () => {
  it("blames the request's device only when the device is missing", () => {
    const missing = plugRefusal(agentError("NOT_FOUND", "DEVICE_NOT_FOUND"), "vnet9", "kvm-1") as CommandError;
    expect(missing.code).toBe("UNPROCESSABLE");
    expect(missing.message).toBe("device vnet9 does not exist on host kvm-1");
  });

  it("keeps a bridge that vanished mid-plug the agent's error, not the caller's device", () => {
    const vanished = agentError("NOT_FOUND", "BRIDGE_NOT_FOUND");
    expect(plugRefusal(vanished, "vnet9", "kvm-1")).toBe(vanished);
  });

  it("turns a host's ownership refusal into FORBIDDEN on hostInterface", () => {
    const refused = plugRefusal(agentError("FORBIDDEN", "DEVICE_NOT_OWNED"), "vnet1", "kvm-1") as CommandError;
    expect(refused.code).toBe("FORBIDDEN");
    expect(refused.details).toMatchObject({ issues: [{ path: "/hostInterface" }] });
  });
});
