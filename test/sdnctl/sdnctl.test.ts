import { apiGatewaySpec } from "@sdn/api-gateway";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { freePort, TestNatsServer, waitFor } from "@sdn/testkit";
import { ServiceStack } from "@sdn/testkit/stack";
import { vrManagerSpec } from "@sdn/vr-manager";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Captured, columnStarts, sdnctl } from "./cli-runner.js";

let nats: TestNatsServer;
let baseUrl: string;
let home: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const stack = new ServiceStack(() => ({ NATS_URL: nats.url }));

/** The environment of a user whose home has no config file. */
const env = (token = adminToken) => ({ SDN_URL: baseUrl, SDN_TOKEN: token, HOME: home });
const admin = { authorization: `Bearer ${adminToken}` };

beforeAll(async () => {
  nats = await TestNatsServer.start();
  home = mkdtempSync(join(tmpdir(), "sdnctl-home-"));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  await stack.start(apiGatewaySpec, {
    SDN_HTTP_PORT: String(port),
    SDN_READY_TIMEOUT_MS: "300",
    SDN_COMMAND_WAIT_MS: "1000",
    SDN_ADMIN_TOKEN: adminToken,
  });
  await stack.start(networkGuruSpec);
});

afterAll(async () => {
  await stack.stop();
  await nats?.dispose();
  if (home !== undefined) rmSync(home, { recursive: true, force: true });
});

const createAccount = async (name: string) => {
  const res = await sdnctl(["accounts", "create", name, "--json"], { env: env() });
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as { account: { id: string; name: string }; token: { id: string; token: string } };
};

describe("sdnctl accounts", () => {
  it("creates an account: a field table by default, the API's JSON with --json", async () => {
    const table = await sdnctl(["accounts", "create", "acme-prod"], { env: env() });
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.split(/\s{2,}/)[0])).toEqual(["id", "name", "created", "token id", "token"]);
    expect(lines[1]).toMatch(/^name {6}acme-prod$/);
    expect(lines[4]).toMatch(/^token {5}sdn_\S+$/);
    expect(table.stdout).not.toContain("\x1b[");
    expect(table.stderr).toContain("the token is shown only now");

    const json = await createAccount("acme-dev");
    expect(json.account.name).toBe("acme-dev");
    expect(json.token.token).toMatch(/^sdn_/);
  });

  it("lists accounts in aligned columns, and --json is exactly the API's body", async () => {
    const table = await sdnctl(["accounts", "list"], { env: env() });
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID +NAME +CREATED$/);
    const [, nameAt, createdAt] = columnStarts(header ?? "", ["ID", "NAME", "CREATED"]);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.slice(nameAt).startsWith("acme-")).toBe(true);
      expect(row.slice(createdAt)).toMatch(/^\d{4}-\d\d-\d\dT/);
    }

    const json = await sdnctl(["accounts", "list", "--json"], { env: env() });
    const api = await (await fetch(`${baseUrl}/v1/accounts`, { headers: admin })).json();
    expect(JSON.parse(json.stdout)).toEqual(api);
  });

  it("gets an account, for an admin and for the account's own token; another's is 404 (exit 3)", async () => {
    const { account, token } = await createAccount("globex");
    const other = await createAccount("initech");
    const own = await sdnctl(["accounts", "get", account.id], { env: env(token.token) });
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(new RegExp(`^id {7}${account.id}\nname {5}globex\ncreated {2}\\S+\n$`));
    const json = await sdnctl(["--json", "accounts", "get", account.id], { env: env() });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: account.id, name: "globex" });

    const theirs = await sdnctl(["accounts", "get", other.account.id], { env: env(token.token) });
    expect(theirs).toEqual({ code: 3, stdout: "", stderr: `NOT_FOUND: account ${other.account.id} not found\n` });
  });

  it("refuses a tenant the admin-only list with 403 (exit 3)", async () => {
    const { token } = await createAccount("hooli");
    const res = await sdnctl(["accounts", "list"], { env: env(token.token) });
    expect(res.code).toBe(3);
    expect(res.stderr).toBe("FORBIDDEN: only an admin token may call this route\n");
  });

  it("names the failing field of a 400 (exit 3)", async () => {
    const res = await sdnctl(["accounts", "create", "!nope"], { env: env() });
    expect(res.code).toBe(3);
    const [head, ...issues] = res.stderr.trimEnd().split("\n");
    expect(head).toMatch(/^VALIDATION_FAILED: invalid request: body\/name: /);
    expect(issues).toEqual([expect.stringMatching(/^ {2}body\/name: must match pattern/)]);
  });
});

describe("sdnctl quotas", () => {
  it("shows an account's quotas and lets an admin set some; a tenant may read its own only", async () => {
    const { account, token } = await createAccount("quota-corp");
    const set = await sdnctl(["quotas", "set", account.id, "--networks", "7", "--public-ips", "2"], { env: env() });
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^networks +7$/m);
    expect(set.stdout).toMatch(/^public-ips +2$/m);
    const own = await sdnctl(["quotas", "get", account.id, "--json"], { env: env(token.token) });
    expect(JSON.parse(own.stdout)).toMatchObject({ networks: 7, publicIps: 2, tokens: 20 });
    const refused = await sdnctl(["quotas", "set", account.id, "--networks", "99"], { env: env(token.token) });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("FORBIDDEN");
    const bad = await sdnctl(["quotas", "set", account.id, "--nics", "-1"], { env: env() });
    expect(bad.code).toBe(2);
  });
});

describe("sdnctl tokens", () => {
  it("creates, lists and revokes tokens; a revoked token is refused with 401 (exit 3)", async () => {
    const { account } = await createAccount("umbrella");
    const created = await sdnctl(
      ["tokens", "create", "--account", account.id, "--name", "ci", "--expires-in", "3600"],
      {
        env: env(),
      },
    );
    expect(created.code).toBe(0);
    const expires = Date.parse(/^expires +(\S+)$/m.exec(created.stdout)?.[1] ?? "");
    expect(expires - Date.now()).toBeGreaterThan(3500_000);
    const secret = /^token +(\S+)$/m.exec(created.stdout)?.[1] ?? "";
    const tokenId = /^id +(\S+)$/m.exec(created.stdout)?.[1] ?? "";
    expect(secret).toMatch(/^sdn_/);
    expect(await sdnctl(["accounts", "get", account.id], { env: env(secret) })).toMatchObject({ code: 0 });

    const list = await sdnctl(["tokens", "list", "--account", account.id], { env: env() });
    const [header, ...rows] = list.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID +NAME +ROLE +CREATED +EXPIRES$/);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 3))).toEqual(
      expect.arrayContaining([
        [tokenId, "ci", "tenant"],
        [expect.any(String), "initial", "tenant"],
      ]),
    );
    expect(list.stdout).not.toContain(secret);
    const json = await sdnctl(["tokens", "list", "--account", account.id, "--json"], { env: env() });
    expect(JSON.parse(json.stdout)).toEqual(
      await (await fetch(`${baseUrl}/v1/accounts/${account.id}/tokens`, { headers: admin })).json(),
    );

    const revoked = await sdnctl(["tokens", "revoke", tokenId], { env: env() });
    expect(revoked).toEqual({ code: 0, stdout: "", stderr: `revoked token ${tokenId}\n` });
    const refused = await sdnctl(["accounts", "get", account.id], { env: env(secret) });
    expect(refused).toEqual({
      code: 3,
      stdout: "",
      stderr: "UNAUTHORIZED: the token is not valid: unknown or revoked\n",
    });
  });

  it("needs --account, as a usage error (exit 2)", async () => {
    const res = await sdnctl(["tokens", "list"], { env: env() });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("required option '--account <id>' not specified");
  });
});

describe("sdnctl errors and exit codes", () => {
  it("exits 3 on 401 with a bad token", async () => {
    const res = await sdnctl(["accounts", "list"], { env: env("sdn_not-a-real-token") });
    expect(res).toMatchObject({ code: 3, stderr: "UNAUTHORIZED: the token is not valid: unknown or revoked\n" });
  });

  it("exits 3 on a job that does not exist (404)", async () => {
    const res = await sdnctl(["jobs", "get", "no-such-job"], { env: env() });
    expect(res).toEqual({ code: 3, stdout: "", stderr: "NOT_FOUND: job no-such-job not found\n" });
  });

  it("exits 4 naming the URL when nothing listens there", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = await sdnctl(["accounts", "list"], { env: { ...env(), SDN_URL: url } });
    expect(res.code).toBe(4);
    expect(res.stderr).toMatch(
      new RegExp(`^error: cannot reach the API at ${url}/v1/accounts: connect ECONNREFUSED`, "m"),
    );
  });

  it("exits 2 without a URL or token, saying how to give them", async () => {
    const res = await sdnctl(["accounts", "list"], { env: { HOME: home } });
    expect(res).toMatchObject({ code: 2, stdout: "" });
    expect(res.stderr).toContain("error: no API URL: set SDN_URL and SDN_TOKEN");
    const noToken = await sdnctl(["accounts", "list"], { env: { HOME: home, SDN_URL: baseUrl } });
    expect(noToken.stderr).toContain("error: no API token");
  });

  it("exits 2 on bad usage, and 0 with help on stdout for --help", async () => {
    const none = await sdnctl([], { env: env() });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage: sdnctl [options] [command]");
    const unknown = await sdnctl(["accounts", "list", "--colour"], { env: env() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown option '--colour'");
    const badTimeout = await sdnctl(["jobs", "wait", "x", "--timeout", "0"], { env: env() });
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toContain("expected a number of seconds above 0");
    const help = await sdnctl(["jobs", "wait", "--help"], { env: env() });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: sdnctl jobs wait [options] <id>");
    expect(help.stdout).toContain("--no-events");
  });

  it("refuses an unknown service before sending anything (exit 2)", async () => {
    const res = await sdnctl(["services", "check", "mainframe"], { env: env() });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("Allowed choices are network-guru, ovs-element");
  });
});

describe("sdnctl services and health", () => {
  it("checks a service over the durable command path: table and --json", async () => {
    const table = await sdnctl(["services", "check", "network-guru"], { env: env() });
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^SERVICE +VERSION +INSTANCE +UPTIME$/);
    expect(row).toMatch(/^network-guru +0\.1\.0 +\S+ +\d+ s$/);
    const json = await sdnctl(["services", "check", "network-guru", "--json"], { env: env() });
    expect(JSON.parse(json.stdout)).toMatchObject({ service: "network-guru", version: "0.1.0" });
  });

  it("exits 4 when a service does not answer in time (504)", async () => {
    const res = await sdnctl(["services", "check", "ovs-element"], { env: env() });
    expect(res.code).toBe(4);
    expect(res.stderr).toBe("TIMEOUT: ovs-element did not answer CheckHealth within 1000 ms; try again\n");
  });

  it("shows health as a table and exits 4 until every service answers, then 0", async () => {
    const notReady = await sdnctl(["health"], { env: { SDN_URL: baseUrl, HOME: home } });
    expect(notReady.code).toBe(4);
    const [header, ...rows] = notReady.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^COMPONENT +OK +DETAIL$/);
    const byName = Object.fromEntries(rows.map((r) => [r.split(/\s+/)[0], r.split(/\s+/)[1]]));
    expect(byName).toMatchObject({ "api-gateway": "yes", nats: "yes", "network-guru": "yes", "vr-manager": "no" });
    expect(notReady.stderr).toMatch(/^UNAVAILABLE: not ready: .*vr-manager/);

    await stack.start(ovsElementSpec);
    await stack.start(vrManagerSpec);
    await stack.start(hypervisorAgentSpec);
    const ready = await sdnctl(["health", "--json"], { env: { SDN_URL: baseUrl, HOME: home } });
    expect(ready.code).toBe(0);
    const body = JSON.parse(ready.stdout) as { healthz: unknown; readyz: { ready: boolean } };
    expect(body.healthz).toEqual({ status: "ok" });
    expect(body.readyz.ready).toBe(true);
  });
});

describe("sdnctl events", () => {
  it("prints the answers to commands as they happen, one JSON per line with --json", async () => {
    const stderr = new Captured();
    const following = sdnctl(["events", "--json", "--count", "1"], { env: env(), stderr });
    await waitFor("the stream", () => (stderr.text.includes("following") ? true : undefined));
    const check = await fetch(`${baseUrl}/v1/services/network-guru/health-checks`, { method: "POST", headers: admin });
    expect(check.status).toBe(200);
    const res = await following;
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({
      event: "answer",
      id: expect.any(String),
      data: { ok: true, data: { service: "network-guru" } },
    });
  });

  it("prints one readable line per event by default", async () => {
    const stderr = new Captured();
    const following = sdnctl(["events", "--count", "1"], { env: env(), stderr });
    await waitFor("the stream", () => (stderr.text.includes("following") ? true : undefined));
    await fetch(`${baseUrl}/v1/services/vr-manager/health-checks`, { method: "POST", headers: admin });
    const res = await following;
    expect(res.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+ {2}answer {2}\S+ {2}ok: /);
  });
});

describe("sdnctl configuration", () => {
  it("logs in to a 0600 file and uses it; refuses the file once others can read it", async () => {
    const config = join(home, "sdnctl.json");
    const login = await sdnctl(["login", "--url", baseUrl, "--token-stdin", "--config", config], {
      env: { HOME: home },
      stdin: `${adminToken}\n`,
    });
    expect(login).toEqual({ code: 0, stdout: "", stderr: `wrote ${config} (mode 0600)\n` });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(config, "utf8"))).toEqual({ url: baseUrl, token: adminToken });

    const used = await sdnctl(["--config", config, "accounts", "list", "--json"], { env: { HOME: home } });
    expect(used.code).toBe(0);

    chmodSync(config, 0o644);
    const refused = await sdnctl(["--config", config, "accounts", "list"], { env: { HOME: home } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`config file ${config} is accessible to other users (mode 0644)`);
    expect(refused.stderr).toContain(`Fix: chmod 600 ${config}`);
  });

  it("reads the default file under HOME; the environment overrides it and flags override both", async () => {
    const configHome = mkdtempSync(join(tmpdir(), "sdnctl-xdg-"));
    try {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const login = await sdnctl(["login", "--url", dead, "--token", "sdn_file-token"], {
        env: { XDG_CONFIG_HOME: configHome },
      });
      expect(login.stderr).toBe(`wrote ${join(configHome, "sdnctl", "config.json")} (mode 0600)\n`);
      expect(statSync(join(configHome, "sdnctl")).mode & 0o777).toBe(0o700);

      const fromFile = await sdnctl(["accounts", "list"], { env: { XDG_CONFIG_HOME: configHome } });
      expect(fromFile.code).toBe(4);
      expect(fromFile.stderr).toContain(`cannot reach the API at ${dead}/v1/accounts`);

      const envWins = await sdnctl(["accounts", "list"], {
        env: { XDG_CONFIG_HOME: configHome, SDN_URL: baseUrl, SDN_TOKEN: adminToken },
      });
      expect(envWins.code).toBe(0);

      const flagWins = await sdnctl(["accounts", "list", "--token", "sdn_flag-token"], {
        env: { XDG_CONFIG_HOME: configHome, SDN_URL: baseUrl, SDN_TOKEN: adminToken },
      });
      expect(flagWins).toMatchObject({ code: 3, stderr: "UNAUTHORIZED: the token is not valid: unknown or revoked\n" });
    } finally {
      rmSync(configHome, { recursive: true, force: true });
    }
  });

  it("says what is wrong with a config file that is not JSON", async () => {
    const config = join(home, "broken.json");
    writeFileSync(config, "{ url: ", { mode: 0o600 });
    const res = await sdnctl(["--config", config, "accounts", "list"], { env: { HOME: home } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(new RegExp(`^error: config file ${config} is not valid JSON: `));
  });
});

describe("the built sdnctl, through the bin npm links (what npx runs)", () => {
  const bin = fileURLToPath(new URL("../../node_modules/.bin/sdnctl", import.meta.url));
  const exec = (args: string[], extraEnv: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(bin, args, { env: { PATH: process.env.PATH ?? "", HOME: home, ...extraEnv } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("error", reject);
      child.once("exit", (code) => resolve({ code, stdout, stderr }));
    });

  it("runs as an executable and exits with the documented codes", async () => {
    const ok = await exec(["accounts", "list", "--json"], { SDN_URL: baseUrl, SDN_TOKEN: adminToken });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toHaveProperty("items");
    const refused = await exec(["accounts", "list"], { SDN_URL: baseUrl, SDN_TOKEN: "sdn_wrong" });
    expect(refused).toMatchObject({
      code: 3,
      stdout: "",
      stderr: "UNAUTHORIZED: the token is not valid: unknown or revoked\n",
    });
    const version = await exec(["--version"], {});
    expect(version).toMatchObject({ code: 0, stdout: "0.1.0\n" });
  });
});
