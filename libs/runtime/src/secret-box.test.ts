import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadSecretKey, SecretBox, SecretKeyError } from "./secret-box.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "sdn-key-"));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("credentials at rest", () => {
  it("seals with AES-256-GCM, bound to its owner: no plaintext, no opening under another id or key", () => {
    const box = new SecretBox(Buffer.alloc(32, 1));
    const sealed = box.seal("hunter2-password", "host-1");
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain("hunter2");
    expect(box.seal("hunter2-password", "host-1")).not.toBe(sealed);
    expect(box.open(sealed, "host-1")).toBe("hunter2-password");
    expect(() => box.open(sealed, "host-2")).toThrow(SecretKeyError);
    expect(() => new SecretBox(Buffer.alloc(32, 2)).open(sealed, "host-1")).toThrow(SecretKeyError);
  });

  it("generates the key once under the data dir with mode 0600, or takes it from config", () => {
    const dir = join(tempDir(), "data");
    const key = loadSecretKey(undefined, dir, "hypervisor-agent.key");
    expect(key).toHaveLength(32);
    expect(statSync(join(dir, "hypervisor-agent.key")).mode & 0o777).toBe(0o600);
    expect(loadSecretKey(undefined, dir, "hypervisor-agent.key").equals(key)).toBe(true);
    const configured = Buffer.alloc(32, 9);
    expect(loadSecretKey(configured.toString("base64"), dir, "hypervisor-agent.key").equals(configured)).toBe(true);
    expect(() => loadSecretKey("c2hvcnQ=", dir, "hypervisor-agent.key")).toThrow("SDN_SECRET_KEY");
  });
});
