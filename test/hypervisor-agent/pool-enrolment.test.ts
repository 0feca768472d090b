import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadControllerPki,
  type ControllerPki,
} from "../../services/hypervisor-agent/src/drivers/xapi/controller-pki.js";
import {
  EnrolmentRefused,
  POOL_CONTROLLER_KEY,
  enrolPool,
} from "../../services/hypervisor-agent/src/drivers/xapi/pool-enrolment.js";
import { XapiClient } from "../../services/hypervisor-agent/src/drivers/xapi/xapi-client.js";
import { XapiEmulator } from "../lab/xapi/server.js";
import type { XapiRelease } from "../lab/xapi/profiles.js";

const password = randomBytes(12).toString("base64url");
let dir: string;
let pki: ControllerPki;
let tls: { cert: string; key: string };
const emulators: XapiEmulator[] = [];
const clients: XapiClient[] = [];

/** An emulated host of `release` on 127.0.0.x; ovs-vsctl is `true` (no OVS here). */
const host = async (release: XapiRelease, n: number) => {
  const address = `127.0.0.${n}`;
  const certsDir = join(dir, `certs-${n}`);
  const emulator = new XapiEmulator({
    flavour: release.startsWith("xenserver") ? "xenserver" : "xcp-ng",
    release,
    listen: { host: address, port: 0 },
    tls,
    username: "root",
    password,
    pluginsDir: dir,
    hostname: `host-${n}`,
    address,
    pif: { device: "eth0", bridge: "xenbr0", netmask: "255.255.255.0", mac: "02:00:00:00:00:01" },
    vsctl: ["true"],
    certsDir,
    xapiSslPem: join(dir, "xapi-ssl.pem"),
  });
  emulators.push(emulator);
  const url = new URL(await emulator.start());
  const client = new XapiClient({
    address,
    port: Number(url.port),
    username: "root",
    password,
    tls: { insecure: true },
    timeoutMs: 5_000,
    originator: "test",
  });
  clients.push(client);
  const call = <T>(method: string, ...params: unknown[]) => client.call<T>(method, ...params);
  return { emulator, call, caFile: join(certsDir, "sdn-controller-ca.pem") };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sdn-enrol-"));
  pki = await loadControllerPki(dir);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "1", "-subj", "/CN=xapi", "-keyout", join(dir, "xapi.key"), "-out", join(dir, "xapi.pem")],
    { stdio: "ignore" }); // prettier-ignore
  tls = { cert: readFileSync(join(dir, "xapi.pem"), "utf8"), key: readFileSync(join(dir, "xapi.key"), "utf8") };
}, 60_000);
afterAll(async () => {
  for (const c of clients) await c.logout().catch(() => undefined);
  for (const e of emulators) await e.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("enrolling a XAPI pool as its SDN controller", () => {
  it("installs our CA with pool.install_ca_certificate and introduces pssl on XenServer 8", async () => {
    const h = await host("xenserver-8", 11);
    await enrolPool(h.call, pki, false);
    expect(readFileSync(h.caFile, "utf8")).toBe(pki.caCertificate);
    const controllers = Object.values(h.emulator.db.all("SDN_controller"));
    expect(controllers).toEqual([expect.objectContaining({ protocol: "pssl", address: "", port: 0n })]);
    const [pool] = h.emulator.db.refs("pool");
    expect(
      (h.emulator.db.get("pool", pool as string)["other_config"] as Record<string, string>)[POOL_CONTROLLER_KEY],
    ).toBe(pki.caFingerprint256);
    // Again (a restarted agent): the pool is ours, nothing is replaced or introduced twice.
    await enrolPool(h.call, pki, false);
    expect(h.emulator.db.refs("SDN_controller")).toHaveLength(1);
  });

  it("uses pool.certificate_install where xapi predates install_ca_certificate (XCP-ng 8.2)", async () => {
    const h = await host("xcp-ng-8.2", 12);
    await expect(h.call("pool.install_ca_certificate", "x.pem", pki.caCertificate)).rejects.toMatchObject({
      code: "MESSAGE_METHOD_UNKNOWN",
    });
    await enrolPool(h.call, pki, false);
    expect(readFileSync(h.caFile, "utf8")).toBe(pki.caCertificate);
  });

  it("refuses a release without SDN_controller (Xen Cloud Platform 1.6) before changing anything", async () => {
    const h = await host("xcp-1.6", 13);
    const err = await enrolPool(h.call, pki, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrolmentRefused);
    expect((err as EnrolmentRefused).code).toBe("SDN_CONTROLLER_UNSUPPORTED");
    expect(existsSync(h.caFile)).toBe(false);
  });

  it("does not take a pool that has another controller unless told to", async () => {
    const h = await host("xcp-ng-8.3", 14);
    // Another controller (e.g. Xen Orchestra's) with its own CA under the same name.
    await h.call(
      "pool.install_ca_certificate",
      "sdn-controller-ca.pem",
      (await loadControllerPki(join(dir, "other"))).caCertificate,
    );
    await h.call("SDN_controller.introduce", "pssl", "", "0");
    const err = await enrolPool(h.call, pki, false).catch((e: unknown) => e);
    expect((err as EnrolmentRefused).code).toBe("POOL_HAS_OTHER_CONTROLLER");
    expect(readFileSync(h.caFile, "utf8")).not.toBe(pki.caCertificate);

    await enrolPool(h.call, pki, true);
    expect(readFileSync(h.caFile, "utf8")).toBe(pki.caCertificate);
    expect(h.emulator.db.refs("SDN_controller")).toHaveLength(1);
  });

  it("follows xapi's rules for introduce", async () => {
    const h = await host("xcp-ng-8.3", 15);
    await expect(h.call("SDN_controller.introduce", "pssl", "", "6640")).rejects.toMatchObject({
      code: "INVALID_VALUE",
      params: ["port", "6640"],
    });
    await expect(h.call("SDN_controller.introduce", "ssl", "", "0")).rejects.toMatchObject({
      code: "INVALID_VALUE",
      params: ["address", ""],
    });
    const ref = await h.call<string>("SDN_controller.introduce", "ssl", "10.0.0.1", "0");
    expect(await h.call("SDN_controller.get_port", ref)).toBe("6632");
    await expect(h.call("SDN_controller.introduce", "pssl", "", "0")).rejects.toMatchObject({
      code: "OPERATION_NOT_ALLOWED",
    });
    await h.call("SDN_controller.forget", ref);
    expect(await h.call("SDN_controller.get_all")).toEqual([]);
  });
});
