import { CommandError, ROUTER_DEPLOY_SCRIPT } from "@sdn/contracts";
import { describe, expect, it } from "vitest";
import { checkRelayRequest } from "./relay-policy.js";

const KEY = "/root/.ssh/id_sdn_router";
const ok = {
  address: "169.254.0.2",
  port: 3922,
  username: "root",
  hostKeyFingerprint: `SHA256:${"A".repeat(43)}`,
  argv: ["/opt/sdn-router/sdn-router", "version"],
};

const reasonOf = (over: Partial<typeof ok> & { identityFile?: string }): string | undefined => {
  try {
    checkRelayRequest({ ...ok, ...over }, KEY);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).code).toBe("FORBIDDEN");
    return ((err as CommandError).details as { reason: string }).reason;
  }
};

describe("what the agent lets through a router relay", () => {
  it("runs the router program's own commands with the configured relay key", () => {
    for (const argv of [
      ["/opt/sdn-router/sdn-router", "state"],
      ["/srv/lab/x/sdn-router", "apply"],
      ["mkdir", "-p", "/opt/sdn-router"],
      ["sh", "-c", ROUTER_DEPLOY_SCRIPT, "sh", "/opt/sdn-router/sdn-router", "755"],
    ]) {
      expect(reasonOf({ argv })).toBeUndefined();
    }
    // The key the caller may name is the configured one; absent, it is filled in.
    expect(checkRelayRequest(ok, KEY).identityFile).toBe(KEY);
    expect(checkRelayRequest({ ...ok, identityFile: KEY }, KEY).identityFile).toBe(KEY);
  });

  it("refuses a router address outside 169.254.0.0/16", () => {
    for (const address of ["10.0.0.5", "127.0.0.1", "169.255.0.1", "192.168.169.254"]) {
      expect(reasonOf({ address })).toBe("RELAY_ADDRESS_NOT_LINK_LOCAL");
    }
  });

  it("refuses any identity file but the configured relay key", () => {
    for (const identityFile of ["/root/.ssh/id_rsa", "/etc/ssh/ssh_host_ed25519_key", "/tmp/id_sdn_router"]) {
      expect(reasonOf({ identityFile })).toBe("RELAY_KEY_NOT_ALLOWED");
    }
  });

  it("refuses every other command", () => {
    for (const argv of [
      ["true"],
      ["sh", "-c", "id"],
      ["/opt/sdn-router/sdn-router", "apply", "--extra"],
      ["/opt/sdn-router/sdn-router", "shell"],
      ["/tmp/evil", "version"],
      ["/opt/../tmp/sdn-router", "version"],
      ["mkdir", "-p", "/opt/../etc"],
      ["sh", "-c", "cat > /etc/passwd", "sh", "/opt/sdn-router/sdn-router", "755"],
      ["sh", "-c", ROUTER_DEPLOY_SCRIPT, "sh", "/etc/cron.d/job", "755"],
      ["sh", "-c", ROUTER_DEPLOY_SCRIPT, "sh", "/opt/sdn-router/sdn-router", "4755"],
    ]) {
      expect(reasonOf({ argv }), argv.join(" ")).toBe("RELAY_COMMAND_NOT_ALLOWED");
    }
  });
});
