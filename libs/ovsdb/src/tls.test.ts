import { TestOvsdbServer, freePort } from "@sdn/testkit";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OvsdbClient } from "./client.js";
import type { OvsdbError } from "./errors.js";

const dir = mkdtempSync(join(tmpdir(), "sdn-ovsdb-tls-"));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });

/** A CA, and a certificate it signs for `name` (with 127.0.0.1 as an IP SAN). */
function issue(ca: string, name: string): void {
  openssl(
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    file(`${name}.key`),
    "-out",
    file(`${name}.csr`),
  );
  writeFileSync(file(`${name}.ext`), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    file(`${name}.csr`),
    "-CA",
    file(`${ca}.crt`),
    "-CAkey",
    file(`${ca}.key`),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    file(`${name}.ext`),
    "-out",
    file(`${name}.crt`),
  );
}
function authority(name: string): void {
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-days",
    "2",
    "-keyout",
    file(`${name}.key`),
    "-out",
    file(`${name}.crt`),
  );
}

/** A self-signed server certificate (as XAPI's xapi-ssl.pem is), key and certificate in one file. */
function selfSigned(name: string): void {
  authority(name);
  writeFileSync(
    file(`${name}.pem`),
    readFileSync(file(`${name}.key`), "utf8") + readFileSync(file(`${name}.crt`), "utf8"),
  );
}

let server: TestOvsdbServer;
let pinnedServer: TestOvsdbServer;
let sslPort: number;
let pinnedPort: number;

beforeAll(async () => {
  authority("ca");
  authority("other-ca");
  issue("ca", "server");
  issue("ca", "client");
  selfSigned("host");
  selfSigned("impostor");
  sslPort = await freePort();
  server = await TestOvsdbServer.start([
    `--remote=pssl:${sslPort}:127.0.0.1`,
    `--private-key=${file("server.key")}`,
    `--certificate=${file("server.crt")}`,
    `--ca-cert=${file("ca.crt")}`,
  ]);
  pinnedPort = await freePort();
  pinnedServer = await TestOvsdbServer.start([
    `--remote=pssl:${pinnedPort}:127.0.0.1`,
    `--private-key=${file("host.pem")}`,
    `--certificate=${file("host.pem")}`,
    `--ca-cert=${file("ca.crt")}`,
  ]);
}, 60_000);
afterAll(async () => {
  await server?.dispose();
  await pinnedServer?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const tls = (ca: string) => ({
  kind: "tls" as const,
  host: "127.0.0.1",
  port: sslPort,
  ca: readFileSync(file(`${ca}.crt`), "utf8"),
  cert: readFileSync(file("client.crt"), "utf8"),
  key: readFileSync(file("client.key"), "utf8"),
});

describe("OvsdbClient over TLS", () => {
  it("talks to ovsdb-server's pssl remote with a certificate our CA issued", async () => {
    const c = await OvsdbClient.connect({ endpoint: tls("ca") });
    try {
      expect(await c.listDbs()).toContain("Open_vSwitch");
    } finally {
      c.close();
    }
  });

  it("refuses a server whose certificate another CA issued", async () => {
    const err = await OvsdbClient.connect({ endpoint: tls("other-ca"), reconnect: false }).catch((e: unknown) => e);
    expect((err as OvsdbError).code).toBe("CERTIFICATE_REJECTED");
    expect((err as OvsdbError).message).toMatch(/certificate/);
  });
});

describe("OvsdbClient over TLS to a pinned self-signed certificate", () => {
  const pinned = (name: string) => {
    const pem = readFileSync(file(`${name}.crt`), "utf8");
    return {
      kind: "tls" as const,
      host: "127.0.0.1",
      port: pinnedPort,
      ca: pem,
      pinnedFingerprint256: new X509Certificate(pem).fingerprint256,
      cert: readFileSync(file("client.crt"), "utf8"),
      key: readFileSync(file("client.key"), "utf8"),
    };
  };

  it("accepts the pinned certificate although it names no address", async () => {
    const c = await OvsdbClient.connect({ endpoint: pinned("host"), reconnect: false });
    try {
      expect(await c.listDbs()).toContain("Open_vSwitch");
    } finally {
      c.close();
    }
  });

  it("refuses a server presenting any other certificate with CERTIFICATE_REJECTED", async () => {
    const err = await OvsdbClient.connect({ endpoint: pinned("impostor"), reconnect: false }).catch((e: unknown) => e);
    expect((err as OvsdbError).code).toBe("CERTIFICATE_REJECTED");
  });
});
