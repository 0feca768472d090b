import { execFile } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The controller's own CA and the client certificate it presents to hosts' OVSDB
 * (XenServer / XCP-ng: `ovs-vsctl set-ssl` makes ovsdb-server accept only peers this CA
 * issued). Generated once with the openssl CLI (node:crypto cannot issue X.509
 * certificates) and kept in `<SDN_DATA_DIR>/ovsdb-pki`, keys readable by the agent only.
 */
export interface ControllerPki {
  caCertificate: string;
  clientCertificate: string;
  clientKey: string;
  /** SHA-256 fingerprint of the CA (node's colon form): marks a pool as ours. */
  caFingerprint256: string;
}

export const PKI_DIR = "ovsdb-pki";
/** Ten years: a CA that expires breaks every host's OVSDB at once, so it is made to outlive them. */
const DAYS = "3650";

/**
 * `CA:TRUE` as a critical basic constraint: OpenSSL 3 (XCP-ng 8.3) refuses a CA without
 * it (what Xen Orchestra had to fix). The client certificate is for TLS client auth only.
 */
const CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = SDN controller CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

const FILES = ["ca-cert.pem", "ca-key.pem", "client-cert.pem", "client-key.pem"] as const;

const openssl = (args: string[], cwd: string): Promise<void> =>
  new Promise((resolve, reject) =>
    execFile("openssl", args, { cwd }, (err, _out, stderr) =>
      err === null ? resolve() : reject(new Error(`openssl ${args[0]} failed: ${stderr.trim() || err.message}`)),
    ),
  );

const loaded = new Map<string, Promise<ControllerPki>>();

/** The controller PKI of this data dir: read, or generated on first use (once per process). */
export const loadControllerPki = (dataDir: string): Promise<ControllerPki> => {
  const dir = join(dataDir, PKI_DIR);
  let pki = loaded.get(dir);
  if (pki === undefined) {
    pki = (FILES.every((f) => existsSync(join(dir, f))) ? Promise.resolve() : generate(dataDir, dir)).then(() =>
      read(dir),
    );
    pki.catch(() => loaded.delete(dir));
    loaded.set(dir, pki);
  }
  return pki;
};

const read = (dir: string): ControllerPki => {
  const [caCertificate, , clientCertificate, clientKey] = FILES.map((f) => readFileSync(join(dir, f), "utf8")) as [
    string,
    string,
    string,
    string,
  ];
  return {
    caCertificate,
    clientCertificate,
    clientKey,
    caFingerprint256: new X509Certificate(caCertificate).fingerprint256,
  };
};

/** Made in a scratch folder and renamed into place, so a crash never leaves half a PKI. */
const generate = async (dataDir: string, dir: string): Promise<void> => {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(dataDir, `${PKI_DIR}-new-`));
  try {
    writeFileSync(join(work, "openssl.cnf"), CONFIG);
    const key = ["-newkey", "rsa:3072", "-nodes"];
    await openssl(["req", "-x509", "-config", "openssl.cnf", "-extensions", "ca", ...key, "-days", DAYS,
      "-keyout", "ca-key.pem", "-out", "ca-cert.pem"], work); // prettier-ignore
    await openssl(["req", "-new", "-config", "openssl.cnf", "-subj", "/CN=sdn-controller", ...key,
      "-keyout", "client-key.pem", "-out", "client.csr"], work); // prettier-ignore
    await openssl(["x509", "-req", "-in", "client.csr", "-CA", "ca-cert.pem", "-CAkey", "ca-key.pem",
      "-set_serial", `0x${randomBytes(16).toString("hex")}`, "-days", DAYS, "-extfile", "openssl.cnf",
      "-extensions", "client", "-out", "client-cert.pem"], work); // prettier-ignore
    for (const f of ["openssl.cnf", "client.csr"]) rmSync(join(work, f));
    if (existsSync(dir)) rmSync(dir, { recursive: true }); // an incomplete one
    renameSync(work, dir);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
};
