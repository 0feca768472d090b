/**
 * Where sdnctl finds the API and its token: flags, then SDN_URL / SDN_TOKEN, then the config
 * file (`--config PATH`, else `$XDG_CONFIG_HOME/sdnctl/config.json`, else
 * `~/.config/sdnctl/config.json`). The file holds a bearer token, so it must be private
 * (mode 0600): a file that others can read is refused rather than trusted.
 */
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { UsageError } from "./errors.js";

export interface ConfigFile {
  url?: string;
  token?: string;
}

export interface ConfigFlags {
  url?: string;
  token?: string;
  config?: string;
}

export interface Settings {
  url?: URL;
  token?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export const defaultConfigPath = (env: Env): string =>
  join(nonEmpty(env.XDG_CONFIG_HOME) ?? join(nonEmpty(env.HOME) ?? homedir(), ".config"), "sdnctl", "config.json");

/**
 * Flags override the environment, which overrides the file. The file is read only when
 * named with --config or when something is still missing, so a broken file never gets in
 * the way of flags or variables that say everything.
 */
export const resolveSettings = async (flags: ConfigFlags, env: Env): Promise<Settings> => {
  let url = pick([flags.url, "--url"], [env.SDN_URL, "SDN_URL"]);
  let token = pick([flags.token, "--token"], [env.SDN_TOKEN, "SDN_TOKEN"]);
  if (flags.config !== undefined || url === undefined || token === undefined) {
    const path = flags.config ?? defaultConfigPath(env);
    const file = await readConfigFile(path, flags.config !== undefined);
    url ??= file.url === undefined ? undefined : { value: file.url, source: `"url" in ${path}` };
    token ??= file.token === undefined ? undefined : { value: file.token, source: `"token" in ${path}` };
  }
  return {
    ...(url === undefined ? {} : { url: parseApiUrl(url.value, url.source) }),
    ...(token === undefined ? {} : { token: token.value }),
  };
};

/** The API's base URL, checked: http or https, no query or fragment. */
export const parseApiUrl = (value: string, source: string): URL => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source} is not a URL: ${JSON.stringify(value)}; expected e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${source} must be an http:// or https:// URL, not ${url.protocol}`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError(`${source} must not have a query or fragment: ${value}`);
  }
  return url;
};

/** Reads the config file; a missing default file is simply empty. */
export const readConfigFile = async (path: string, mustExist: boolean): Promise<ConfigFile> => {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && !mustExist) return {};
    throw new UsageError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new UsageError(
      `config file ${path} is accessible to other users (mode ${(mode & 0o777).toString(8).padStart(4, "0")}) ` +
        `and holds a token; refusing to use it. Fix: chmod 600 ${path}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return checkConfigFile(parsed, path);
};

const checkConfigFile = (value: unknown, path: string): ConfigFile => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`config file ${path} must hold a JSON object like {"url": "...", "token": "..."}`);
  }
  const file: ConfigFile = {};
  for (const [key, v] of Object.entries(value)) {
    if (key !== "url" && key !== "token") {
      throw new UsageError(`config file ${path}: unknown key "${key}"; only "url" and "token" are allowed`);
    }
    if (typeof v !== "string" || v === "") {
      throw new UsageError(`config file ${path}: "${key}" must be a non-empty string`);
    }
    file[key] = v;
  }
  return file;
};

/**
 * Writes the config file with mode 0600 (its folder 0700): into a private temporary file
 * first, then renamed over the old one, so the token is never readable by others, not
 * even for an instant, and a crash never leaves half a file.
 */
export const writeConfigFile = async (path: string, config: Required<ConfigFile>): Promise<void> => {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  // "wx" creates the file with mode 0600 (less the umask) or fails: never reuses a wider one.
  await rm(temporary, { force: true });
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
};

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === "" ? undefined : v);

const pick = (...candidates: [string | undefined, string][]): { value: string; source: string } | undefined => {
  for (const [value, source] of candidates) {
    const v = nonEmpty(value);
    if (v !== undefined) return { value: v, source };
  }
  return undefined;
};
