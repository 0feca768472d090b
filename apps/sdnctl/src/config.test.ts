import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveSettings } from "./config.js";
import { UsageError } from "./errors.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sdnctl-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const file = (content: string, mode = 0o600) => {
  const path = join(dir, `config-${++files}.json`);
  writeFileSync(path, content, { mode });
  return path;
};

describe("resolveSettings", () => {
  it("takes flags over the environment over the file", async () => {
    const config = file(JSON.stringify({ url: "http://file:1", token: "file-token" }));
    expect(await resolveSettings({ config }, {})).toEqual({ url: new URL("http://file:1"), token: "file-token" });
    expect(await resolveSettings({ config }, { SDN_URL: "http://env:2" })).toEqual({
      url: new URL("http://env:2"),
      token: "file-token",
    });
    expect(
      await resolveSettings({ config, token: "flag-token" }, { SDN_URL: "http://env:2", SDN_TOKEN: "env-token" }),
    ).toEqual({ url: new URL("http://env:2"), token: "flag-token" });
  });

  it("does not read the default file when flags and environment say everything", async () => {
    const home = join(dir, "home");
    const path = join(home, ".config", "sdnctl", "config.json");
    mkdirSync(join(home, ".config", "sdnctl"), { recursive: true });
    writeFileSync(path, "not json", { mode: 0o644 });
    const env = { HOME: home, SDN_URL: "http://env:2", SDN_TOKEN: "t" };
    expect(await resolveSettings({}, env)).toEqual({ url: new URL("http://env:2"), token: "t" });
    await expect(resolveSettings({}, { HOME: home, SDN_URL: "http://env:2" })).rejects.toThrow(
      /is accessible to other users \(mode 0644\)/,
    );
  });

  it("refuses what it cannot use, naming where it came from", async () => {
    await expect(resolveSettings({ url: "ftp://x" }, {})).rejects.toThrow("--url must be an http:// or https:// URL");
    await expect(resolveSettings({}, { SDN_URL: "nope", SDN_TOKEN: "t" })).rejects.toThrow(
      'SDN_URL is not a URL: "nope"',
    );
    const config = file(JSON.stringify({ url: "http://h:1", colour: "red" }));
    await expect(resolveSettings({ config }, {})).rejects.toThrow('unknown key "colour"');
    await expect(resolveSettings({ config: file("[1]") }, {})).rejects.toThrow("must hold a JSON object");
    await expect(resolveSettings({ config: join(dir, "missing.json") }, {})).rejects.toThrow(UsageError);
    await expect(resolveSettings({ config: file("{}", 0o640) }, {})).rejects.toThrow("Fix: chmod 600");
  });
});
