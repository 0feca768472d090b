import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CLUSTER_CONFIG_FILE, ensureComposeBusSecrets, SERVER_AUTH_SECRET } from "./compose-secrets.js";

const root = mkdtempSync(join(tmpdir(), "sdn-compose-secrets-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, "bus-credentials");
const NATS_SERVER = process.env["NATS_SERVER_BIN"] ?? "/usr/sbin/nats-server";

describe("the bus credentials of a compose deployment", () => {
  it("are the launcher's files, readable by the containers' users in a private folder, kept across runs", async () => {
    await ensureComposeBusSecrets(dir, join(root, "jwt"));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const names = readdirSync(dir).sort();
    expect(names).toEqual(
      [
        "admin.creds",
        "api-gateway.creds",
        "hypervisor-agent.creds",
        "issuer.json",
        CLUSTER_CONFIG_FILE,
        "network-guru.creds",
        "ovs-element.creds",
        "server-auth.conf",
        "state.creds",
        "trust.json",
        "vr-manager.creds",
      ].sort(),
    );
    for (const name of names) expect(statSync(join(dir, name)).mode & 0o777, name).toBe(0o444);
    const kept = ["trust.json", "issuer.json", "admin.creds", CLUSTER_CONFIG_FILE];
    const before = kept.map((n) => readFileSync(join(dir, n), "utf8"));
    // A second run (as after an upgrade) replaces the read-only service files and keeps the rest.
    await ensureComposeBusSecrets(dir, join(root, "jwt"));
    expect(kept.map((n) => readFileSync(join(dir, n), "utf8"))).toEqual(before);
    expect(statSync(join(dir, "network-guru.creds")).mode & 0o777).toBe(0o444);
  });

  it("give a cluster node a configuration nats-server accepts, with authenticated routes", async () => {
    // As compose mounts them: each secret a file named after it, side by side in /run/secrets.
    const secrets = join(root, "secrets");
    mkdirSync(secrets);
    copyFileSync(join(dir, "server-auth.conf"), join(secrets, SERVER_AUTH_SECRET));
    copyFileSync(join(dir, CLUSTER_CONFIG_FILE), join(secrets, "nats-cluster"));
    const conf = readFileSync(join(secrets, "nats-cluster"), "utf8");
    expect(conf).toMatch(/authorization \{ user: route, password: "[0-9a-f]{48}" \}/);
    expect(conf.match(/nats-route:\/\/route:[0-9a-f]{48}@/g)).toHaveLength(3);
    const { stdout, stderr } = await promisify(execFile)(NATS_SERVER, ["-t", "-c", join(secrets, "nats-cluster")]);
    expect(`${stdout}${stderr}`).toMatch(/is valid/);
  });
});
