import { connect } from "@nats-io/transport-node";
import { TestNatsServer } from "@sdn/testkit";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadIdentity } from "./identity.js";
import { SecretBox } from "@sdn/runtime";
import { VrStore } from "./store.js";

let nats: TestNatsServer;
let dir: string;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  dir = mkdtempSync(join(tmpdir(), "vr-identity-"));
});

afterAll(async () => {
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("the vr-manager's SSH identity", () => {
  it("is generated once, stored sealed, and shared by every replica", async () => {
    const nc = await connect({ servers: nats.url });
    try {
      const store = await VrStore.open(nc);
      const box = new SecretBox(Buffer.alloc(32, 3));
      const [a, b] = await Promise.all([loadIdentity(undefined, store, box), loadIdentity(undefined, store, box)]);
      expect(a.privateKey).toBe(b.privateKey);
      expect(a.publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+ /);
      const stored = (await store.identity.get("ssh"))?.value;
      expect(JSON.stringify(stored)).not.toContain("PRIVATE KEY");
      // Another key does not open it.
      await expect(loadIdentity(undefined, store, new SecretBox(Buffer.alloc(32, 4)))).rejects.toThrow(/does not open/);
    } finally {
      await nc.close();
    }
  });

  it("comes from a key file when configured, with OpenSSH's fingerprint", async () => {
    const file = join(dir, "key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
    const printed = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${file}.pub`], { encoding: "utf8" });
    const nc = await connect({ servers: nats.url });
    try {
      const id = await loadIdentity(file, await VrStore.open(nc), new SecretBox(Buffer.alloc(32, 3)));
      expect(id.fingerprint).toBe(printed.split(" ")[1]);
      expect(id.publicKey.split(" ").slice(0, 2)).toEqual(readFileSync(`${file}.pub`, "utf8").split(" ").slice(0, 2));
    } finally {
      await nc.close();
    }
  });
});
