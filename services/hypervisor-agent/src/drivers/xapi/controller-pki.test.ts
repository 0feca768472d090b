import { OvsdbClient, type OvsdbError } from "@sdn/ovsdb";
import { TestOvsdbServer, freePort } from "@sdn/testkit";
import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadControllerPki, PKI_DIR, type ControllerPki } from "./controller-pki.js";

const dir = mkdtempSync(join(tmpdir(), "sdn-pki-"));
let pki: ControllerPki;
let server: TestOvsdbServer;
let port: number;
let hostCert: string;

beforeAll(async () => {
  pki = await loadControllerPki(dir);
  // A host as openvswitch-config-update leaves it: its self-signed xapi-ssl.pem, our CA as peer CA.
  const pem = join(dir, "xapi-ssl.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "1", "-subj", "/CN=xen-01", "-keyout", join(dir, "h.key"), "-out", join(dir, "h.crt")],
    { stdio: "ignore" }); // prettier-ignore
  hostCert = readFileSync(join(dir, "h.crt"), "utf8");
  writeFileSync(pem, readFileSync(join(dir, "h.key"), "utf8") + hostCert);
  writeFileSync(join(dir, "ca.pem"), pki.caCertificate);
  port = await freePort();
  server = await TestOvsdbServer.start([
    `--remote=pssl:${port}:127.0.0.1`,
    `--private-key=${pem}`,
    `--certificate=${pem}`,
    `--ca-cert=${join(dir, "ca.pem")}`,
  ]);
}, 120_000);
afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("the controller's CA and client certificate", () => {
  it("is a CA with CA:TRUE as a critical basic constraint (OpenSSL 3 on XCP-ng 8.3 needs it)", () => {
    const ca = new X509Certificate(pki.caCertificate);
    expect(ca.ca).toBe(true);
    const text = execFileSync("openssl", ["x509", "-noout", "-text"], { input: pki.caCertificate }).toString();
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(pki.caFingerprint256).toBe(ca.fingerprint256);
  });

  it("issues a client certificate for TLS client auth, signed by the CA, matching its key", () => {
    const ca = new X509Certificate(pki.caCertificate);
    const client = new X509Certificate(pki.clientCertificate);
    expect(client.ca).toBe(false);
    expect(client.checkIssued(ca)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(client.checkPrivateKey(createPrivateKey(pki.clientKey))).toBe(true);
    expect(client.keyUsage).toContain("1.3.6.1.5.5.7.3.2"); // clientAuth
  });

  it("is generated once and kept in the data dir, keys readable by the agent only", async () => {
    expect(await loadControllerPki(dir)).toBe(await loadControllerPki(dir));
    for (const f of ["ca-key.pem", "client-key.pem"]) {
      expect(statSync(join(dir, PKI_DIR, f)).mode & 0o077).toBe(0);
    }
    expect(statSync(join(dir, PKI_DIR)).mode & 0o077).toBe(0);
  });

  it("is accepted by ovsdb-server configured as XAPI configures it, with the host's certificate pinned", async () => {
    const endpoint = {
      kind: "tls" as const,
      host: "127.0.0.1",
      port,
      ca: hostCert,
      pinnedFingerprint256: new X509Certificate(hostCert).fingerprint256,
      cert: pki.clientCertificate,
      key: pki.clientKey,
    };
    const c = await OvsdbClient.connect({ endpoint, reconnect: false });
    try {
      expect(await c.listDbs()).toContain("Open_vSwitch");
    } finally {
      c.close();
    }
    // Another controller's certificate is not let in by the host.
    const other = await loadControllerPki(join(dir, "other"));
    const refused = await OvsdbClient.connect({
      endpoint: { ...endpoint, cert: other.clientCertificate, key: other.clientKey },
      reconnect: false,
      callTimeoutMs: 3_000,
    })
      .then((c2) => c2.listDbs().finally(() => c2.close()))
      .catch((e: unknown) => e);
    expect((refused as OvsdbError).code).toMatch(/CONNECT_FAILED|CLOSED/);
  });
});
