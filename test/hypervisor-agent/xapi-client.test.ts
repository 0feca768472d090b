import { describePluginFailure, XapiClient, XapiError, XapiTransportError, type XapiTls } from "@sdn/hypervisor-agent";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../lab/exec.js";
import { XapiEmulator, type XapiEmulatorConfig } from "../lab/xapi/server.js";

/** Generated per run: no literal secret in the repository. */
const rootPassword = randomBytes(12).toString("base64url");
// Two pool members on loopback addresses: the master and a member that points to it.
const MASTER = "127.0.0.3";
const MEMBER = "127.0.0.2";
let dir: string;
let cert: string;
let otherCert: string;
let master: XapiEmulator;
let member: XapiEmulator;
let port: number;

const selfSigned = async (name: string, sans: string): Promise<{ cert: string; key: string }> => {
  const [c, k] = [join(dir, `${name}.pem`), join(dir, `${name}.key`)];
  await exec([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    `/CN=${name}`,
    "-addext",
    `subjectAltName=${sans}`,
    "-keyout",
    k,
    "-out",
    c,
  ]);
  return { cert: readFileSync(c, "utf8"), key: readFileSync(k, "utf8") };
};

const config = (
  address: string,
  tls: { cert: string; key: string },
  extra: Partial<XapiEmulatorConfig> = {},
): XapiEmulatorConfig => ({
  flavour: "xenserver",
  listen: { host: address, port: 0 },
  tls,
  username: "root",
  password: rootPassword,
  badPasswordDelayMs: 300,
  pluginsDir: dir,
  hostname: `host-${address}`,
  address,
  pif: { device: "eth0", bridge: "xenbr0", netmask: "255.255.255.0", mac: "02:00:00:00:00:01" },
  ...extra,
});

const client = (address: string, tls: XapiTls = { certificate: cert }, password = rootPassword) =>
  new XapiClient({ address, port, username: "root", password, tls, timeoutMs: 5_000, originator: "test" });

const post = (body: string): Promise<{ status: number; type: string; text: string }> =>
  new Promise((resolve, reject) => {
    const req = request(
      { host: MASTER, port, path: "/", method: "POST", ca: cert, headers: { "content-type": "text/xml" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sdn-xapi-"));
  const tls = await selfSigned("pool", `IP:${MASTER},IP:${MEMBER}`);
  cert = tls.cert;
  otherCert = (await selfSigned("other", `IP:${MASTER}`)).cert;
  master = new XapiEmulator(config(MASTER, tls));
  port = Number(new URL(await master.start()).port);
  member = new XapiEmulator(config(MEMBER, tls, { listen: { host: MEMBER, port }, masterAddress: MASTER }));
  await member.start();
});

afterAll(async () => {
  await member?.stop();
  await master?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the XAPI client against the emulated XAPI wire protocol", () => {
  it("gets XAPI's encoding: bare strings and int64, booleans tagged, an unwrapped listMethods, HTML on garbage", async () => {
    const login = await post(
      `<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value>root</value></param><param><value>${rootPassword}</value></param></params></methodCall>`,
    );
    expect(login.type).toBe("text/xml");
    const session = /<value>(OpaqueRef:[^<]+)<\/value>/.exec(login.text)?.[1] as string;
    expect(login.text).toContain("<name>Status</name><value>Success</value>");
    const pifs = await post(
      `<?xml version="1.0"?><methodCall><methodName>PIF.get_all_records</methodName><params><param><value>${session}</value></param></params></methodCall>`,
    );
    expect(pifs.text).toContain("<name>MTU</name><value>1500</value>");
    expect(pifs.text).toContain("<name>management</name><value><boolean>1</boolean></value>");
    expect(pifs.text).not.toContain("<string>");
    const methods = await post(
      `<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName><params/></methodCall>`,
    );
    expect(methods.text).toMatch(/^<\?xml version="1.0"\?><methodResponse><params><param><value><array>/);
    const garbage = await post("not xml");
    expect([garbage.status, garbage.type]).toEqual([500, "text/html"]);
  });

  it("reuses one session, logs in again after SESSION_INVALID, and logs out", async () => {
    const c = client(MASTER);
    const before = master.logins;
    for (let i = 0; i < 3; i++) expect(await c.call<string[]>("host.get_all")).toHaveLength(1);
    expect(master.logins - before).toBe(1);
    master.expireSessions();
    expect(await c.call<string[]>("host.get_all")).toHaveLength(1);
    expect(master.logins - before).toBe(2);
    await c.logout();
    expect(master.openSessions).toBe(0);
  });

  it("follows HOST_IS_SLAVE to the pool master", async () => {
    const c = client(MEMBER);
    expect(await c.call<string[]>("host.get_all")).toHaveLength(1);
    expect(c.masterAddress).toBe(MASTER);
    await c.logout();
  });

  it("reports XAPI errors with their code and parameters, a bad password only after XAPI's delay", async () => {
    const started = Date.now();
    const err = await client(MASTER, { certificate: cert }, "wrong")
      .login()
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(err).toBeInstanceOf(XapiError);
    expect(err).toMatchObject({ code: "SESSION_AUTHENTICATION_FAILED", params: ["root", "Authentication failure"] });
    const c = client(MASTER);
    await expect(c.call("VM.get_record", "OpaqueRef:nope")).rejects.toMatchObject({
      code: "HANDLE_INVALID",
      params: ["VM", "OpaqueRef:nope"],
    });
    await expect(c.call("host.get_all", "extra")).rejects.toMatchObject({
      code: "MESSAGE_PARAMETER_COUNT_MISMATCH",
      params: ["host.get_all", "0", "1"], // gen_server.ml: counts without the session
    });
    await expect(
      c.call("host.call_plugin", (await c.call<string[]>("host.get_all"))[0], "absent", "fn", {}),
    ).rejects.toMatchObject({
      code: "XENAPI_MISSING_PLUGIN",
      params: ["absent"],
    });
    await c.logout();
  });

  it("checks TLS: the pinned certificate passes, another is refused, insecure passes", async () => {
    const refused = await client(MASTER, { certificate: otherCert })
      .login()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(XapiTransportError);
    expect((refused as XapiTransportError).tls).toBe(true);
    const systemCa = await client(MASTER, {})
      .login()
      .catch((e: unknown) => e);
    expect((systemCa as XapiTransportError).tls).toBe(true);
    const insecure = client(MASTER, { insecure: true });
    await expect(insecure.login()).resolves.toMatch(/^OpaqueRef:/);
    await insecure.logout();
  });

  it("words plugin failures for people", () => {
    expect(describePluginFailure("p", "f", ["non-zero exit", "", "Traceback\nKeyError: 'x'\n"])).toBe(
      "host plugin p (f) exited with an error: KeyError: 'x'",
    );
    expect(describePluginFailure("p", "f", ["signal: SIGKILL", "", ""])).toBe(
      "host plugin p (f) was killed (signal: SIGKILL): no output",
    );
    expect(describePluginFailure("p", "f", ["failed to parse plugin output", "hello", ""])).toBe(
      "host plugin p (f) printed no valid answer: hello",
    );
    expect(describePluginFailure("p", "f", ["f", "OSError", "disk full"])).toBe(
      "host plugin p (f) failed with OSError: disk full",
    );
  });
});
