import { HOST_PROGRAMS_VERSION, HostFailure, XAPI_PLUGIN_FILES, XapiClient, XapiDriver } from "@sdn/hypervisor-agent";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "xen-api";
import { HOST_PROGRAMS_DIR } from "../lab/xapi-host.js";
import { pyenvPython } from "../lab/python.js";
import { XapiEmulator, type XapiEmulatorConfig, type XapiRelease } from "../lab/xapi/server.js";

/**
 * The emulator checked against clients we did not write: Xen Orchestra's `xen-api` (JSON-RPC
 * first, then XML-RPC) and the official XenAPI.py (XML-RPC), and the plugin run through it
 * on the control-domain Pythons of the releases (pyenv's 3.6 and 2.7).
 */
const here = fileURLToPath(new URL(".", import.meta.url));
const password = randomBytes(12).toString("base64url");
const py36 = pyenvPython("3.6");
const py27 = pyenvPython("2.7");
let dir: string;
let tls: { cert: string; key: string };
const emulators: XapiEmulator[] = [];

const start = async (
  release: XapiRelease,
  dom0Python?: string,
  withTls = false,
): Promise<{ emulator: XapiEmulator; port: number }> => {
  const config: XapiEmulatorConfig = {
    ...(withTls ? { tls } : {}),
    flavour: release.startsWith("xenserver") ? "xenserver" : "xcp-ng",
    release,
    listen: { host: "127.0.0.1", port: 0 },
    username: "root",
    password,
    badPasswordDelayMs: 50,
    pluginsDir: dir,
    ...(dom0Python === undefined ? {} : { dom0Python }),
    hostname: `host-${release}`,
    address: "127.0.0.1",
    pif: { device: "eth0", bridge: "xenbr0", netmask: "255.255.255.0", mac: "02:00:00:00:00:01" },
    vsctl: ["true"],
  };
  const emulator = new XapiEmulator(config);
  emulators.push(emulator);
  return { emulator, port: Number(new URL(await emulator.start()).port) };
};

const run = (argv: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(argv[0] as string, argv.slice(1), (err, out, errOut) => (err ? reject(new Error(errOut)) : resolve(out))),
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sdn-xapi-fidelity-"));
  for (const f of XAPI_PLUGIN_FILES) copyFileSync(join(HOST_PROGRAMS_DIR, f), join(dir, f));
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  await run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "1", "-subj", "/CN=xapi", "-keyout", key, "-out", cert]); // prettier-ignore
  tls = { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
});

afterAll(async () => {
  for (const e of emulators) await e.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the XAPI emulator against Xen Orchestra's xen-api client", () => {
  it("connects over JSON-RPC, fetches every record type, follows events and barriers", async () => {
    const { emulator, port } = await start("xcp-ng-8.3");
    const xapi = createClient({ url: `http://127.0.0.1:${port}`, auth: { user: "root", password } });
    await xapi.connect();
    try {
      await xapi.objectsFetched;
      expect(emulator.requests.xml).toBe(0);
      expect(emulator.requests.json).toBeGreaterThan(3);
      const objects = Object.values(xapi.objects.all) as Record<string, unknown>[];
      const host = objects.find((o) => o["$type"] === "host") as Record<string, unknown>;
      expect(host["software_version"]).toMatchObject({ product_brand: "XCP-ng", product_version: "8.3.0" });
      expect(host["API_version_major"]).toBe(2); // int64 is a JSON number
      const mgmt = objects.find((o) => o["$type"] === "network") as Record<string, unknown>;
      expect(mgmt["name_label"]).toBe("Pool-wide network associated with eth0");
      const net = await xapi.call<string>("network.create", { other_config: {} });
      // barrier: pool.add_to_other_config, then waits for its event.from.
      const created = (await xapi.barrier(net)) as Record<string, unknown>;
      expect(created).toMatchObject({ name_label: "", MTU: 1500, bridge: "xapi0", managed: true });
      const dom0 = objects.find((o) => o["$type"] === "VM" && o["is_control_domain"] === true) as { $ref: string };
      const vif = { device: "0", network: net, VM: dom0.$ref, MTU: 1500, other_config: {} };
      const qos = { qos_algorithm_type: "", qos_algorithm_params: {} };
      await expect(xapi.call("VIF.create", { ...vif, ...qos, MAC: "" })).rejects.toMatchObject({
        code: "MAC_INVALID",
        params: [""],
      });
      const vifRef = await xapi.call<string>("VIF.create", { ...vif, ...qos, MAC: "02:00:00:00:00:aa" });
      await expect(xapi.call("VIF.plug", vifRef)).rejects.toMatchObject({
        code: "OPERATION_NOT_ALLOWED",
        params: ["Control domain does not support hotplug"],
      });
      await expect(xapi.call("host.get_all", "extra")).rejects.toMatchObject({
        code: "MESSAGE_PARAMETER_COUNT_MISMATCH",
        params: ["host.get_all", "0", "1"],
      });
      // system.listMethods lists exactly what answers: each method exists (its arity is checked).
      const methods = await xapi.call<string[]>("system.listMethods");
      expect(methods.length).toBeGreaterThan(350);
      // (xen-api refuses session.* calls itself; XenAPI.py logs in and out through them.)
      for (const method of methods.filter((m) => m !== "system.listMethods" && !m.startsWith("session."))) {
        const err = await xapi.call(method, ...Array<string>(9).fill("x")).catch((e: unknown) => e);
        expect(err, method).toMatchObject({ code: "MESSAGE_PARAMETER_COUNT_MISMATCH" });
      }
    } finally {
      await xapi.disconnect();
    }
  }, 30_000);

  it("speaks XAPI's XML-RPC to the same client: int64 as bare strings", async () => {
    const { emulator, port } = await start("xenserver-8");
    const xapi = createClient({
      url: `http://127.0.0.1:${port}`,
      auth: { user: "root", password },
      transport: "xml-rpc",
      watchEvents: false,
    });
    await xapi.connect();
    try {
      const hosts = await xapi.call<Record<string, Record<string, unknown>>>("host.get_all_records");
      const host = Object.values(hosts)[0] as Record<string, unknown>;
      expect(host["API_version_major"]).toBe("2");
      expect(host["software_version"]).toMatchObject({ product_brand: "XenServer", product_version: "8.4.0" });
      expect(emulator.requests.json).toBe(0);
    } finally {
      await xapi.disconnect();
    }
  });
});

describe("the XAPI emulator's JSON-RPC 1.0 (api_server.ml jsoncallback)", () => {
  it("answers {result, error, id}: the value bare, a failure as the description list", async () => {
    const { port } = await start("xenserver-8");
    const rpc = async (method: string, params: unknown[]) =>
      (await (
        await fetch(`http://127.0.0.1:${port}/jsonrpc`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ method, params, id: 7 }),
        })
      ).json()) as { result: unknown; error: unknown; id: unknown };
    const login = await rpc("session.login_with_password", ["root", password]);
    expect(login).toMatchObject({ error: null, id: 7, result: expect.stringMatching(/^OpaqueRef:/) });
    expect(await rpc("VM.get_record", [login.result, "OpaqueRef:nope"])).toEqual({
      result: null,
      error: ["HANDLE_INVALID", "VM", "OpaqueRef:nope"],
      id: 7,
    });
  });
});

describe.each([
  ["system python3", "python3"],
  ["pyenv Python 3.6 (absent: this case is skipped)", py36],
])("the XAPI emulator against the official XenAPI.py on %s", (_name, python) => {
  it.skipIf(python === undefined)(
    "sees complete records, XAPI's constructor checks, errors and events",
    async () => {
      const { port } = await start("xenserver-8");
      const out = JSON.parse(
        await run([
          python as string,
          join(here, "../lab/xapi/xenapi_probe.py"),
          `http://127.0.0.1:${port}/`,
          "root",
          password,
        ]),
      ) as Record<string, unknown>;
      const host = out["host"] as { fields: string[]; API_version_major: string };
      expect(host.API_version_major).toBe("2");
      expect(host.fields).toEqual(
        expect.arrayContaining(["uuid", "software_version", "control_domain", "ssh_enabled"]),
      );
      expect(out["network_fields"]).toEqual(
        expect.arrayContaining(["uuid", "bridge", "MTU", "purpose", "assigned_ips"]),
      );
      expect(out["network"]).toMatchObject({ name_label: "", MTU: "1500", bridge: "xapi0" });
      expect(out["vif_without_mac"]).toEqual(["INTERNAL_ERROR", 'Failure("Field MAC not present in rpc")']);
      expect(out["vif_empty_mac"]).toEqual(["MAC_INVALID", ""]);
      expect(out["vif_fields"]).toEqual(expect.arrayContaining(["currently_attached", "locking_mode", "ipv4_allowed"]));
      expect(out["dom0_plug"]).toEqual(["OPERATION_NOT_ALLOWED", "Control domain does not support hotplug"]);
      expect(out["attach"]).toBe("");
      expect(out["count_mismatch"]).toEqual(["MESSAGE_PARAMETER_COUNT_MISMATCH", "host.get_all", "0", "1"]);
      expect(out["bad_handle"]).toEqual(["HANDLE_INVALID", "network", "OpaqueRef:nope"]);
      expect(out["unknown"]).toEqual(["MESSAGE_METHOD_UNKNOWN", "network.frobnicate"]);
      expect(out["duplicate_key"]).toEqual(["MAP_DUPLICATE_KEY", "network", "other_config", out["net_ref"], "probe"]);
      expect(out["events"]).toContainEqual({ class: "network", operation: "mod", ref: out["net_ref"] });
      expect(out["methods"]).toEqual(expect.arrayContaining(["event.from", "network.attach", "VIF.get_MAC"]));
    },
    30_000,
  );
});

describe("the XAPI plugin run by XAPI on the control domain's Python", () => {
  const overTls = async (release: XapiRelease, python: string) => {
    const { port } = await start(release, python, true);
    const opts = { address: "127.0.0.1", port, username: "root", password, tls: { insecure: true } };
    return { ...opts, timeoutMs: 10_000, originator: "fidelity" };
  };

  it.skipIf(py36 === undefined)("answers on XenServer 8's Python 3.6 (skipped only without pyenv 3.6)", async () => {
    const client = new XapiClient(await overTls("xenserver-8", py36 as string));
    try {
      const [host] = await client.call<string[]>("host.get_all");
      const answer = await client.call<string>("host.call_plugin", host, "sdn-ovs", "version", { args: "{}" });
      expect(JSON.parse(answer)).toEqual({ version: HOST_PROGRAMS_VERSION, python: expect.stringMatching(/^3\.6\./) });
    } finally {
      await client.logout();
    }
  });

  it.skipIf(py36 === undefined)(
    "passes its Python unit tests on Python 3.6 (skipped only without pyenv 3.6)",
    async () => {
      const hostDir = join(here, "../../services/hypervisor-agent/host");
      const out = await run([
        py36 as string,
        "-m",
        "unittest",
        "discover",
        "-s",
        join(hostDir, "tests"),
        "-t",
        hostDir,
      ]);
      expect(out).toBe("");
    },
  );

  it.skipIf(py27 === undefined)(
    "refuses XCP-ng 8.2's Python 2.7 with UNSUPPORTED_PYTHON (skipped only without pyenv 2.7)",
    async () => {
      const driver = new XapiDriver(await overTls("xcp-ng-8.2", py27 as string));
      try {
        const err = await driver.identify().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HostFailure);
        expect(err).toMatchObject({ reason: "UNSUPPORTED_PYTHON" });
        expect((err as Error).message).toMatch(/runs Python 2\.7\.\d+ .*needs Python 3\.6 or later/);
      } finally {
        await driver.close();
      }
    },
  );
});
