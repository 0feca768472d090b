import {
  Algorithms,
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  fromSeed,
  type Account,
  type KeyPair,
} from "@nats-io/jwt";
import type { BusPermissions } from "./permissions.js";

/**
 * The NATS operator/JWT trust chain of one installation (why JWT mode: docs/bus-security.md).
 * The operator and account identity keys are thrown away once their JWTs are signed:
 * from then on only their signing keys sign, and only the gateway holds those.
 */
export interface BusTrust {
  operatorJwt: string;
  system: { publicKey: string; jwt: string };
  app: { publicKey: string; jwt: string };
  /** The gateway's issuing material: re-signs the app account (revocations) and signs users. */
  issuer: IssuerKeys;
}

export interface IssuerKeys {
  /** Operator signing key seed: signs the app account's JWT (its revocation list). */
  operatorSigningSeed: string;
  appAccount: string;
  /** App account signing key seed: signs every user of the app account. */
  appSigningSeed: string;
  /** A system-account user allowed only to push account JWT updates. */
  systemUserCreds: string;
}

const enc = new TextDecoder();
const ALG = { algorithm: Algorithms.v2 };

/** Unlimited NATS limits; JetStream on for the app account (a JWT without limits allows no connection). */
const limits = (jetstream: boolean): Account["limits"] => ({
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  ...(jetstream ? { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1, max_ack_pending: -1 } : {}),
});

/** The app account's claims; rebuilt whole on every revocation, so keep every setting here. */
export const appAccountClaims = (appSigningKey: string, revocations: Record<string, number>): Partial<Account> => ({
  limits: limits(true),
  signing_keys: [appSigningKey],
  ...(Object.keys(revocations).length === 0 ? {} : { revocations }),
});

export const APP_ACCOUNT_NAME = "SDN";

/** Signs the app account's JWT with the operator signing key. */
export const signAppAccount = (
  appAccount: string,
  operatorSigningSeed: string,
  appSigningKey: string,
  revocations: Record<string, number>,
): Promise<string> =>
  encodeAccount(APP_ACCOUNT_NAME, appAccount, appAccountClaims(appSigningKey, revocations), {
    ...ALG,
    signer: fromSeed(new TextEncoder().encode(operatorSigningSeed)),
  });

/** A user JWT with these permissions, as `.creds` file text (JWT and the user's seed). */
export const userCreds = async (
  name: string,
  account: string,
  signingSeed: string,
  perms: BusPermissions,
): Promise<{ creds: string; publicKey: string }> => {
  const user = createUser();
  const jwt = await encodeUser(
    name,
    user,
    account,
    { pub: { allow: perms.pub }, sub: { allow: perms.sub } },
    { ...ALG, signer: fromSeed(new TextEncoder().encode(signingSeed)) },
  );
  return { creds: enc.decode(fmtCreds(jwt, user)), publicKey: user.getPublicKey() };
};

const seedOf = (kp: KeyPair): string => enc.decode(kp.getSeed());

/** A fresh trust chain: operator, system account, app account and the gateway's issuing keys. */
export const generateTrust = async (): Promise<BusTrust> => {
  const operator = createOperator();
  const operatorSigning = createOperator();
  const system = createAccount();
  const systemSigning = createAccount();
  const app = createAccount();
  const appSigning = createAccount();
  const operatorJwt = await encodeOperator(
    "sdn",
    operator,
    { signing_keys: [operatorSigning.getPublicKey()], system_account: system.getPublicKey() },
    ALG,
  );
  const systemJwt = await encodeAccount(
    "SYS",
    system.getPublicKey(),
    { limits: limits(false), signing_keys: [systemSigning.getPublicKey()] },
    { ...ALG, signer: operatorSigning },
  );
  const appJwt = await signAppAccount(app.getPublicKey(), seedOf(operatorSigning), appSigning.getPublicKey(), {});
  const claimUpdater = await userCreds("gateway-claims", system.getPublicKey(), seedOf(systemSigning), {
    pub: ["$SYS.REQ.CLAIMS.UPDATE", "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE"],
    sub: ["_INBOX.gateway-claims.>"],
  });
  return {
    operatorJwt,
    system: { publicKey: system.getPublicKey(), jwt: systemJwt },
    app: { publicKey: app.getPublicKey(), jwt: appJwt },
    issuer: {
      operatorSigningSeed: seedOf(operatorSigning),
      appAccount: app.getPublicKey(),
      appSigningSeed: seedOf(appSigning),
      systemUserCreds: claimUpdater.creds,
    },
  };
};

/**
 * The authentication part of a nats-server configuration: operator mode, the full
 * resolver (it accepts account JWT updates at run time and keeps them in `resolverDir`),
 * and the two accounts preloaded.
 */
export const serverAuthConfig = (trust: BusTrust, resolverDir: string): string =>
  [
    "# A user JWT carries its permission lists: larger than the default 4 KB CONNECT line.",
    "max_control_line: 32768",
    `operator: ${JSON.stringify(trust.operatorJwt)}`,
    `system_account: ${trust.system.publicKey}`,
    `resolver: { type: full, dir: ${JSON.stringify(resolverDir)}, allow_delete: false, interval: "2m" }`,
    "resolver_preload: {",
    `  ${trust.system.publicKey}: ${JSON.stringify(trust.system.jwt)}`,
    `  ${trust.app.publicKey}: ${JSON.stringify(trust.app.jwt)}`,
    "}",
    "",
  ].join("\n");
