/**
 * `sdnctl hosts` against the real gateway and hypervisor-agent, with hosts of the emulated
 * lab (root needed): a KVM host over SSH and a XenServer over XAPI. Adding a host connects,
 * identifies it and deploys the host programs, which takes longer than the gateway's wait
 * time here, so `--wait` follows a real job.
 */
import { apiGatewaySpec } from "@sdn/api-gateway";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { freePort, TestNatsServer } from "@sdn/testkit";
import { ServiceStack } from "@sdn/testkit/stack";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KVM_PROGRAM_DIR, Lab, type KvmLabHost, type XapiLabHost } from "../lab/index.js";
import { sdnctl } from "./cli-runner.js";

let lab: Lab;
let kvm: KvmLabHost;
let xen: XapiLabHost;
let nats: TestNatsServer;
let dir: string;
let env: Record<string, string>;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const stack = new ServiceStack(() => ({ NATS_URL: nats.url }));

const field = (stdout: string, name: string) => new RegExp(`^${name} +(.+)$`, "m").exec(stdout)?.[1];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sdnctl-hosts-"));
  lab = await Lab.create();
  kvm = await lab.addKvmHost("kvm");
  xen = await lab.addXapiHost("xen", { flavour: "xenserver" });
  nats = await TestNatsServer.start();
  const port = await freePort();
  await stack.start(apiGatewaySpec, {
    SDN_HTTP_PORT: String(port),
    SDN_COMMAND_WAIT_MS: "200",
    SDN_ADMIN_TOKEN: adminToken,
  });
  await stack.start(hypervisorAgentSpec, {
    SDN_DATA_DIR: dir,
    SDN_KVM_PROGRAM_DIR: KVM_PROGRAM_DIR,
    SDN_HOST_CONNECT_TIMEOUT_MS: "3000",
    SDN_SECRET_KEY: randomBytes(32).toString("base64"),
  });
  env = { SDN_URL: `http://127.0.0.1:${port}`, SDN_TOKEN: adminToken, HOME: dir };
}, 120_000);

afterAll(async () => {
  await stack.stop();
  await nats?.dispose();
  await lab?.dispose();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("sdnctl hosts", () => {
  it("adds a KVM host with --wait (a 202 job), reading the private key from a file", async () => {
    const keyFile = join(dir, "id_kvm");
    writeFileSync(keyFile, kvm.clientPrivateKey, { mode: 0o600 });
    const res = await sdnctl(
      [
        "hosts",
        "add",
        "kvm-01",
        "--hypervisor",
        "kvm",
        "--address",
        kvm.address,
        "--username",
        kvm.username,
        "--private-key-file",
        keyFile,
        "--host-key-fingerprint",
        kvm.hostKeyFingerprint,
        "--wait",
      ],
      { env },
    );
    expect(res.stderr).toMatch(/^waiting for job \S+\.\.\.\n(.*\n)*job \S+ succeeded after \d+\.\d s\n$/);
    expect(res.code).toBe(0);
    expect(field(res.stdout, "name")).toBe("kvm-01");
    expect(field(res.stdout, "state")).toBe("Up");
    expect(field(res.stdout, "hypervisor")).toBe("kvm");
    expect(field(res.stdout, "host key")).toBe(kvm.hostKeyFingerprint);
    expect(res.stdout).not.toContain("PRIVATE KEY");
  });

  it("adds a XenServer reading the password from stdin; lists, gets and removes hosts", async () => {
    const caFile = join(dir, "xen-ca.pem");
    writeFileSync(caFile, xen.caCertificate);
    const added = await sdnctl(
      [
        "hosts",
        "add",
        "xen-01",
        "--hypervisor",
        "xenserver",
        "--address",
        xen.address,
        "--username",
        xen.username,
        "--password-file",
        "-",
        "--tls-certificate-file",
        caFile,
        "--wait",
        "--json",
      ],
      { env, stdin: `${xen.password}\n` },
    );
    expect(added.code).toBe(0);
    const host = JSON.parse(added.stdout) as { id: string; state: string; platform: { name: string } };
    expect(host).toMatchObject({ state: "Up", platform: { name: "XenServer" } });
    expect(added.stdout).not.toContain(xen.password);

    const list = await sdnctl(["hosts", "list"], { env });
    const [header, ...rows] = list.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID +NAME +HYPERVISOR +STATE +ADDRESS +TUNNEL IP +PLATFORM$/);
    expect(rows.map((r) => r.split(/ {2,}/).slice(1, 4)).sort()).toEqual([
      ["kvm-01", "kvm", "Up"],
      ["xen-01", "xenserver", "Up"],
    ]);
    const json = await sdnctl(["hosts", "list", "--json"], { env });
    const api = await (
      await fetch(`${env.SDN_URL}/v1/hosts`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json();
    expect(JSON.parse(json.stdout)).toEqual(api);

    const got = await sdnctl(["hosts", "get", host.id], { env });
    expect(field(got.stdout, "tls")).toBe("pinned");

    const removed = await sdnctl(["hosts", "remove", host.id, "--wait"], { env });
    expect(removed).toMatchObject({ code: 0, stdout: "" });
    expect(removed.stderr).toMatch(new RegExp(`removed host ${host.id}\\n$`));
    expect(await sdnctl(["hosts", "get", host.id], { env })).toMatchObject({
      code: 3,
      stderr: expect.stringMatching(/^NOT_FOUND: /),
    });
  });

  it("reports a host it cannot reach with the job's error (UNAVAILABLE: exit 4), and a missing key file before sending (exit 2)", async () => {
    const unreachable = await sdnctl(
      [
        "hosts",
        "add",
        "ghost",
        "--hypervisor",
        "xenserver",
        "--address",
        lab.unusedAddress,
        "--username",
        "root",
        "--password-file",
        "-",
        "--tls-insecure",
        "--wait",
      ],
      { env, stdin: "pw" },
    );
    // The job failed with UNAVAILABLE (the host, not the API): the 5xx class, exit 4.
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(/job \S+ failed after .*\nUNAVAILABLE: .*\n {2}reason: UNREACHABLE\n$/);

    const missing = await sdnctl(
      [
        "hosts",
        "add",
        "x",
        "--hypervisor",
        "kvm",
        "--address",
        "10.0.0.1",
        "--username",
        "root",
        "--private-key-file",
        join(dir, "none"),
      ],
      { env },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`error: cannot read the private key from ${join(dir, "none")}: ENOENT`);
  });
});
