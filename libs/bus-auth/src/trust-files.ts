import { SERVICE_NAMES, type ServiceName } from "@sdn/contracts";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adminPermissions, servicePermissions, statePermissions } from "./permissions.js";
import { generateTrust, serverAuthConfig, userCreds, type BusTrust, type IssuerKeys } from "./trust.js";

/**
 * The generated bus credentials of one installation, in one directory (0700, files 0600):
 * - `trust.json`: the operator and account JWTs (public; no seed)
 * - `issuer.json`: the gateway's signing seeds (only the gateway may read it)
 * - `<service>.creds`, `admin.creds`, `state.creds`: one user per service, admin bus credentials,
 *   and the state operator's (backup and restore, inbox `_INBOX.state`)
 * - `server-auth.conf`: the nats-server configuration block (include it)
 * Made once and kept: a second run reads them, so credentials survive restarts.
 */
export interface BusCredentialFiles {
  dir: string;
  trust: BusTrust;
  /** Path of a principal's `.creds` file. */
  credsPath(principal: ServiceName | "admin" | "state"): string;
  issuerPath: string;
  serverConfigPath: string;
}

export const ISSUER_FILE = "issuer.json";
const TRUST_FILE = "trust.json";
const SERVER_CONFIG_FILE = "server-auth.conf";

/** Replaces the file (a read-only one too: compose's copies are 0444) and sets its mode. */
const writeSecret = (path: string, text: string, mode: number) => {
  rmSync(path, { force: true });
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
};

/** Reads the gateway's issuing keys (SDN_BUS_ISSUER_FILE). */
export const readIssuerKeys = (path: string): IssuerKeys => JSON.parse(readFileSync(path, "utf8")) as IssuerKeys;

/**
 * Creates (or completes) the credential directory. `resolverDir` is where the server keeps
 * account JWTs, as the server sees it (a container path in compose). `fileMode` is 0600
 * unless the files are mounted into containers whose user is not the owner (compose: 0444,
 * the directory staying 0700).
 */
export const ensureBusCredentials = async (
  dir: string,
  resolverDir: string,
  fileMode = 0o600,
): Promise<BusCredentialFiles> => {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const trustPath = join(dir, TRUST_FILE);
  const issuerPath = join(dir, ISSUER_FILE);
  let trust: BusTrust;
  if (existsSync(trustPath) && existsSync(issuerPath)) {
    trust = {
      ...(JSON.parse(readFileSync(trustPath, "utf8")) as Omit<BusTrust, "issuer">),
      issuer: readIssuerKeys(issuerPath),
    };
  } else {
    trust = await generateTrust();
    const { issuer, ...pub } = trust;
    writeSecret(issuerPath, JSON.stringify(issuer, null, 2), fileMode);
    writeSecret(trustPath, JSON.stringify(pub, null, 2), fileMode);
  }
  const credsPath = (principal: ServiceName | "admin" | "state") => join(dir, `${principal}.creds`);
  for (const principal of [...SERVICE_NAMES, "admin" as const, "state" as const]) {
    const path = credsPath(principal);
    // Service credentials are re-signed every run, so they carry the permissions of this version.
    if (principal === "admin" && existsSync(path)) continue;
    const perms =
      principal === "admin"
        ? adminPermissions("admin")
        : principal === "state"
          ? statePermissions("state")
          : servicePermissions(principal);
    const { creds } = await userCreds(principal, trust.issuer.appAccount, trust.issuer.appSigningSeed, perms);
    writeSecret(path, creds, fileMode);
  }
  const serverConfigPath = join(dir, SERVER_CONFIG_FILE);
  writeSecret(serverConfigPath, serverAuthConfig(trust, resolverDir), fileMode);
  return { dir, trust, credsPath, issuerPath, serverConfigPath };
};
