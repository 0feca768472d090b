import { ADMIN_ACCOUNT_ID } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { GatewayAuditWriter } from "../audit/audit-writer.js";
import { generateToken } from "./token-secret.js";
import type { TokenStore } from "./token-store.js";

const ENV_TOKEN_ID = "bootstrap-env";
const FILE_TOKEN_ID = "bootstrap-file";

/**
 * Makes sure an admin can log in on first start: SDN_ADMIN_TOKEN when set, otherwise a
 * generated token written to `<dataDir>/admin-token` (mode 0600) whose path is logged —
 * never the token itself. Only one of the two is valid: setting SDN_ADMIN_TOKEN retires
 * the generated token (and removes its file), unsetting it retires the variable's token.
 * Each change is audited (no caller: the gateway's start made it).
 */
export const bootstrapAdminToken = async (
  tokens: TokenStore,
  opts: { envToken: string | undefined; dataDir: string; logger: Logger; audit: GatewayAuditWriter },
): Promise<void> => {
  const path = resolve(join(opts.dataDir, "admin-token"));
  const install = async (token: string, id: string): Promise<void> => {
    if (await tokens.install(token, id, ADMIN_ACCOUNT_ID, "admin")) await audited(opts.audit, "InstallAdminToken", id);
  };
  const retire = async (id: string): Promise<boolean> => {
    const token = await tokens.find(id);
    if (token === undefined) return false;
    await tokens.revoke(token);
    await audited(opts.audit, "RevokeToken", id);
    return true;
  };
  if (opts.envToken !== undefined) {
    await install(opts.envToken, ENV_TOKEN_ID);
    if (await retire(FILE_TOKEN_ID)) {
      rmSync(path, { force: true });
      opts.logger.warn({ path }, `SDN_ADMIN_TOKEN is set: revoked the generated admin token and removed ${path}`);
    }
    opts.logger.info({}, "admin token taken from SDN_ADMIN_TOKEN");
    return;
  }
  if (await retire(ENV_TOKEN_ID)) {
    opts.logger.warn({}, "SDN_ADMIN_TOKEN is no longer set: revoked the admin token it had installed");
  }
  const existing = readToken(path);
  if (existing !== undefined && (await tokens.verify(existing))?.role === "admin") {
    opts.logger.info({ path }, `admin token is in ${path}`);
    return;
  }
  const token = generateToken();
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  await install(token, FILE_TOKEN_ID);
  opts.logger.warn({ path }, `generated an admin token; it is in ${path} (mode 0600)`);
};

/** A bootstrap admin token installed or revoked: the admin account's, by no caller's token. */
const audited = (audit: GatewayAuditWriter, command: string, tokenId: string): Promise<void> =>
  audit.write({ command, accountId: ADMIN_ACCOUNT_ID, role: "admin", resources: { tokenId }, ok: true });

const readToken = (path: string): string | undefined => {
  try {
    const t = readFileSync(path, "utf8").trim();
    return t === "" ? undefined : t;
  } catch {
    return undefined;
  }
};
