import { JsonBucket, NoResponderError } from "@sdn/bus";
import { ListHosts, Ping, RemoveHost, type Host, type NewHost } from "@sdn/contracts";
import { HOST_PROGRAMS_VERSION, hypervisorAgentSpec, KVM_FILES, type Agent } from "@sdn/hypervisor-agent";
import { startService, type RunningService } from "@sdn/runtime";
import { waitFor } from "@sdn/testkit";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KvmLabHost, XapiLabHost } from "../lab/index.js";
import { expectShippedPlugin, hostOf, HostsLab, ok } from "./hosts-lab.js";

/*
 * Hosts registered and refused (the lab: hosts-lab.ts): a XenServer, an XCP-ng and a KVM
 * host added and served, Xen Cloud Platform's quirks, host keys, the XAPI plugin deployed
 * over SSH, every refusal storing nothing, no secret anywhere, and replicas taking over.
 * Bridges, tunnels, VIFs and traffic through the host programs: hosts-ovs.lab.test.ts.
 */

let hl: HostsLab;
let xen: XapiLabHost;
let xcp: XapiLabHost;
let kvm: KvmLabHost;
let kvm2: KvmLabHost;
let bridgeless: XapiLabHost;
let legacy: XapiLabHost;
let outdated: XapiLabHost;
let replica: RunningService<never> | undefined;
/** Generated per run: no literal secret in the repository. */
const wrongPassword = `wrong-${randomUUID()}`;
const ids: Record<string, string> = {};

beforeAll(async () => {
  hl = await HostsLab.start();
  const { lab } = hl;
  // Fresh hosts: AddHost deploys the plugin over SFTP.
  xen = await lab.addXapiHost("xen", { flavour: "xenserver", withoutPlugin: true });
  xcp = await lab.addXapiHost("xcp", { flavour: "xcp-ng", withoutPlugin: true });
  outdated = await lab.addXapiHost("old", { flavour: "xcp-ng", withoutPlugin: true });
  outdated.installPlugin("0.9.0");
  kvm = await lab.addKvmHost("kvm");
  kvm2 = await lab.addKvmHost("kvm2");
  bridgeless = await lab.addXapiHost("linuxbr", { flavour: "xenserver", networkBackend: "bridge" });
  legacy = await lab.addXapiHost("xcp16", { flavour: "xcp-ng", release: "xcp-1.6" });
}, 120_000);

afterAll(async () => {
  await replica?.stop();
  await hl?.dispose();
});

describe("hypervisor-agent in the emulated lab: hosts registered and refused", () => {
  it("adds a XenServer, an XCP-ng and a KVM host, each Up with its platform and tunnel address", async () => {
    const add = async (req: NewHost) => {
      const res = await hl.http("POST", "/v1/hosts", req);
      expect(res.statusCode, res.body).toBe(201);
      return res.json<Host>();
    };
    expect(readdirSync(xen.pluginDir)).toEqual([]);
    // The plugin is deployed over SSH to dom0: password login, pinned host key ...
    const x = await add(
      hostOf(xen, { tunnelNetworkLabel: xen.tunnelNetworkLabel, hostKeyFingerprint: xen.hostKeyFingerprint }),
    );
    expect(x).toMatchObject({
      state: "Up",
      hypervisor: "xenserver",
      platform: { name: "XenServer", version: "8.4.0", ovsVersion: "3.1.0" },
      tunnelInterface: { ip: xen.address, device: "br-phy", label: xen.tunnelNetworkLabel, prefixLength: 24 },
      programsVersion: HOST_PROGRAMS_VERSION,
      tls: "pinned",
      hostKeyFingerprint: xen.hostKeyFingerprint,
    });
    expectShippedPlugin(xen);
    // XCP-ng reports its brand and version, and labels its management network as XenServer does.
    // ... or key login, the host key recorded on first contact as asked.
    const c = await add(
      hostOf(xcp, {
        tunnelNetworkLabel: "Pool-wide network associated with eth0",
        privateKey: xcp.clientPrivateKey,
        trustHostKeyOnFirstContact: true,
      }),
    );
    expect(c).toMatchObject({
      state: "Up",
      platform: { name: "XCP-ng", version: "8.3.0" },
      tunnelInterface: {
        ip: xcp.address,
        device: "br-phy",
        netmask: "255.255.255.0",
        label: "Pool-wide network associated with eth0",
      },
      programsVersion: HOST_PROGRAMS_VERSION,
      hostKeyFingerprint: xcp.hostKeyFingerprint,
    });
    expectShippedPlugin(xcp);
    const k = await add(hostOf(kvm));
    expect(k).toMatchObject({
      state: "Up",
      platform: { name: "Debian GNU/Linux", ovsVersion: "3.1.0" },
      tunnelInterface: { ip: kvm.address, device: "br-phy" },
      hostKeyFingerprint: kvm.hostKeyFingerprint,
    });
    // Deployed over SFTP into the host's program directory.
    expect(readFileSync(join(kvm.programDir, "sdn-ovs-kvm"), "utf8")).toContain("sdn-ovs-kvm <function>");
    expect(readdirSync(kvm.programDir).sort()).toEqual([...KVM_FILES].sort()); // no temporary file left
    Object.assign(ids, { xen: x.id, xcp: c.id, kvm: k.id });

    const listed = (await hl.http("GET", "/v1/hosts")).json<{ hosts: Host[] }>().hosts;
    expect(listed.map((h) => h.name).sort()).toEqual(["kvm", "xcp", "xen"]);
    expect((await hl.http("GET", `/v1/hosts/${k.id}`)).json<Host>().name).toBe("kvm");
    const tenant = await hl.gateway.tenant();
    expect((await hl.http("GET", "/v1/hosts", undefined, tenant.token)).statusCode).toBe(403);
    for (const id of Object.values(ids)) {
      const pong = await waitFor(`agent serving ${id}`, async () => {
        const a = await hl.agentCall(id, Ping, {}).catch(() => undefined);
        return a?.ok === true ? a.data : undefined;
      });
      expect(pong).toMatchObject({ hostId: id, programsVersion: HOST_PROGRAMS_VERSION });
    }
    expect(hl.events.some((e) => e.includes('"type":"HostAdded"') && e.includes(k.id))).toBe(true);
  }, 90_000);

  it("still handles Xen Cloud Platform's quirks: no product_* keys, no network name-labels", async () => {
    const added = ok(await hl.addHost(hostOf(legacy, { tunnelNetworkLabel: "cloud-public" })));
    // platform_* name it; the label matches nothing, so the interface holding the address is used.
    expect(added).toMatchObject({
      state: "Up",
      platform: { name: "XCP", version: "1.6.10" },
      tunnelInterface: { ip: legacy.address, device: "br-phy" },
    });
    expect(added.tunnelInterface.label).toBeUndefined();
    ok(await hl.send(RemoveHost, { id: added.id }));
  }, 60_000);

  it("records the host key on first contact only when asked, and takes KVM keys only", async () => {
    const refused = await hl.addHost(hostOf(kvm2, { hostKeyFingerprint: undefined }));
    expect(refused).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    const trusted = ok(
      await hl.addHost(hostOf(kvm2, { hostKeyFingerprint: undefined, trustHostKeyOnFirstContact: true })),
    );
    expect(trusted.hostKeyFingerprint).toBe(kvm2.hostKeyFingerprint);
    ok(await hl.send(RemoveHost, { id: trusted.id }));
    await waitFor("kvm2 no longer served", async () =>
      (await hl.agentCall(trusted.id, Ping, {}).catch((e: unknown) => e)) instanceof NoResponderError
        ? true
        : undefined,
    );
  }, 60_000);

  it("replaces an outdated XAPI plugin over SSH, and refuses cleanly when the plugin is broken or SSH fails", async () => {
    const bucket = await JsonBucket.open<unknown>(hl.nc, "sdn-hosts");
    const before = (await bucket.keys()).sort();
    const lib = join(outdated.pluginDir, "sdn_ovs.py");
    const refuse = async (req: NewHost, status: number, reason: string) => {
      const res = await hl.http("POST", "/v1/hosts", req);
      expect([res.statusCode, res.json()], reason).toMatchObject([status, { error: { details: { reason } } }]);
      return res.json<{ error: { message: string } }>().error.message;
    };
    // Without SSH the agent cannot deploy: the version check reports what it found.
    renameSync(lib, `${lib}.away`);
    try {
      expect(await refuse(hostOf(outdated), 422, "HOST_PROGRAM_FAILED")).toContain("No module named 'sdn_ovs'");
    } finally {
      renameSync(`${lib}.away`, lib);
    }
    expect(await refuse(hostOf(outdated), 422, "PROGRAMS_OUTDATED")).toMatch(
      new RegExp(
        `version 0\\.9\\.0, this agent needs ${HOST_PROGRAMS_VERSION.replace(/\./g, "\\.")}; give the host's SSH hostKeyFingerprint`,
      ),
    );
    const pinned = hostOf(outdated, { hostKeyFingerprint: outdated.hostKeyFingerprint });
    expect(await refuse({ ...pinned, hostKeyFingerprint: xen.hostKeyFingerprint }, 422, "HOST_KEY_MISMATCH")).toBe(
      `host key of ${outdated.address}:22 is ${outdated.hostKeyFingerprint}, expected ${xen.hostKeyFingerprint}`,
    );
    const stranger = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    }).privateKey;
    expect(await refuse({ ...pinned, privateKey: stranger }, 422, "AUTHENTICATION_FAILED")).toBe(
      `SSH at ${outdated.address}:22 refused the key of 'root'`,
    );
    await outdated.sshd.stop();
    try {
      expect(await refuse(pinned, 503, "UNREACHABLE")).toContain(`cannot reach SSH at ${outdated.address}:22`);
    } finally {
      await outdated.sshd.start();
    }
    expect((await bucket.keys()).sort()).toEqual(before);
    expect(readFileSync(lib, "utf8")).toContain('VERSION = "0.9.0"');

    const added = ok(await hl.addHost(pinned));
    expect(added).toMatchObject({
      state: "Up",
      programsVersion: HOST_PROGRAMS_VERSION,
      hostKeyFingerprint: outdated.hostKeyFingerprint,
    });
    expectShippedPlugin(outdated);
    ok(await hl.send(RemoveHost, { id: added.id }));
  }, 60_000);

  it("refuses a wrong password, an unreachable address, a wrong host key and a non-OVS host, storing nothing", async () => {
    const bucket = await JsonBucket.open<unknown>(hl.nc, "sdn-hosts");
    const before = (await bucket.keys()).sort();
    const cases: [NewHost, number, string][] = [
      [hostOf(bridgeless, { password: wrongPassword }), 422, "AUTHENTICATION_FAILED"],
      [hostOf(kvm, { name: "nowhere", address: hl.lab.unusedAddress }), 503, "UNREACHABLE"],
      [hostOf(xen, { name: "nowhere-x", address: hl.lab.unusedAddress }), 503, "UNREACHABLE"],
      [hostOf(kvm2, { name: "kvm2", hostKeyFingerprint: kvm.hostKeyFingerprint }), 422, "HOST_KEY_MISMATCH"],
      [hostOf(bridgeless), 422, "NOT_AN_OVS_HOST"],
      [hostOf(bridgeless, { tlsCertificate: xen.caCertificate }), 422, "TLS_VERIFICATION_FAILED"],
    ];
    for (const [req, status, reason] of cases) {
      const res = await hl.http("POST", "/v1/hosts", req);
      expect([res.statusCode, res.json()], req.name).toMatchObject([status, { error: { details: { reason } } }]);
    }
    const mismatch = [...hl.answers].reverse().find((a) => a.includes("HOST_KEY_MISMATCH")) ?? "";
    expect(mismatch).toContain(kvm2.hostKeyFingerprint);
    expect((await bucket.keys()).sort()).toEqual(before);
    expect(ok(await hl.send(ListHosts, {})).hosts).toHaveLength(3);
    expect(await hl.send(ListHosts, {}, "tenant")).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  }, 90_000);

  it("keeps every secret out of logs, answers, events and KV values", async () => {
    const secrets = [
      xen.password,
      xcp.password,
      wrongPassword,
      // The body of the private key, wherever it might be cut.
      ...kvm.clientPrivateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----")),
    ];
    const kv: string[] = [];
    for (const name of ["sdn-hosts", "sdn-host-index", "sdn-host-leases"]) {
      const b = await JsonBucket.open<unknown>(hl.nc, name);
      for (const k of await b.keys()) kv.push(JSON.stringify((await b.get(k))?.value));
    }
    expect(kv.some((v) => v.includes('"credentials":"v1:'))).toBe(true);
    expect(hl.agent.output).toContain("took charge of host");
    for (const [where, texts] of Object.entries({
      logs: [hl.agent.output],
      answers: hl.answers,
      events: hl.events,
      kv,
    })) {
      for (const s of secrets)
        expect(
          texts.some((t) => t.includes(s)),
          `${where} leak`,
        ).toBe(false);
    }
  });

  it("lets one replica at a time drive a host, and another take over when it stops", async () => {
    replica = (await startService(hypervisorAgentSpec, {
      ...hl.agentEnv(),
      LOG_LEVEL: "silent",
      SDN_DATA_DIR: hl.lab.dir,
    })) as unknown as RunningService<never>;
    const second = (replica.state as Agent).manager;
    const hostIds = Object.values(ids);
    const first = ok(await hl.agentCall(ids["kvm"] as string, Ping, {})).agentInstanceId;
    await new Promise((r) => setTimeout(r, 1500)); // a few lease passes of both replicas
    expect(second.served()).toEqual([]);
    await hl.agent.stop(); // releases its leases
    await waitFor("the second replica to take every host", () =>
      hostIds.every((id) => second.served().includes(id)) ? true : undefined,
    );
    for (const id of hostIds) {
      const pong = ok(await hl.agentCall(id, Ping, {}));
      expect(pong.agentInstanceId).not.toBe(first);
      expect(pong.agentInstanceId).toBe(replica.context.instanceId);
    }
    // Removal: the replica in charge stops serving the host (and logs out of XAPI).
    expect((await hl.http("DELETE", `/v1/hosts/${ids["xen"]}`)).statusCode).toBe(204);
    await waitFor("xen no longer served", () => (second.served().includes(ids["xen"] as string) ? undefined : true));
    await expect(hl.agentCall(ids["xen"] as string, Ping, {})).rejects.toBeInstanceOf(NoResponderError);
    expect(hl.events.some((e) => e.includes('"type":"HostRemoved"'))).toBe(true);
  }, 60_000);
});
