import { OvsdbClient, tunnelPortName, Vswitch } from "@sdn/ovsdb";
import { TestOvsdbServer, waitFor } from "@sdn/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * The row format of an encrypted network's tunnels, proved with its real consumer: Debian's
 * ovs-monitor-ipsec (openvswitch-ipsec) reads the Interface rows our OVSDB plan writes from
 * a standalone ovsdb-server and writes the strongSwan configuration. --root-prefix keeps it
 * in a directory of its own, with a stand-in `ipsec` command that records what it was asked
 * (no IKE daemon is started or touched).
 */
const MONITOR = "/usr/share/openvswitch/scripts/ovs-monitor-ipsec";
const PSK = randomBytes(32).toString("hex");
const OTHER_PSK = randomBytes(32).toString("hex");
const REMOTES = [
  { ip: "192.0.2.11", hostId: "h11" },
  { ip: "192.0.2.12", hostId: "h12" },
];

let server: TestOvsdbServer;
let vs: Vswitch;
let root: string;
let monitor: ChildProcess | undefined;
let monitorLog = "";

const file = (path: string): string => (existsSync(join(root, path)) ? readFileSync(join(root, path), "utf8") : "");

beforeAll(async () => {
  server = await TestOvsdbServer.start();
  vs = await Vswitch.open(await OvsdbClient.connect({ endpoint: { kind: "unix", path: server.socketPath } }));
  root = mkdtempSync(join(tmpdir(), "sdn-ipsec-monitor-"));
  for (const d of ["etc/strongswan.d", "usr/sbin", "sbin", "run"]) mkdirSync(join(root, d), { recursive: true });
  // Stand-ins for strongSwan's `ipsec` and iproute2's `ip`: they only record their arguments.
  for (const cmd of ["usr/sbin/ipsec", "sbin/ip"]) {
    writeFileSync(join(root, cmd), `#!/bin/sh\necho "$(basename "$0") $*" >> "${root}/calls"\nexit 0\n`);
    chmodSync(join(root, cmd), 0o755);
  }
});

afterAll(async () => {
  monitor?.kill("SIGTERM");
  vs?.close();
  await server?.dispose();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe("ovs-monitor-ipsec reads the rows of an encrypted network's tunnels", () => {
  it("configures strongSwan transport SAs to each peer with the network's PSK and the drop-cleartext shunt", async () => {
    // Two networks on a kernel-datapath host: one encrypted, one plain.
    await vs.setupBridge("br-enc", "n-enc");
    await vs.setupBridge("br-plain", "n-plain");
    await vs.applyTunnels("n-enc", { type: "gre", key: 4242, psk: PSK }, REMOTES);
    await vs.applyTunnels("n-plain", { type: "gre", key: 4343 }, REMOTES);
    const encPort = (ip: string) => tunnelPortName(4242, ip, "gre");
    expect(server.vsctl("get", "Interface", encPort("192.0.2.11"), "options:psk").trim()).toMatch(
      new RegExp(`^"?${PSK}"?$`),
    );
    expect(server.vsctl("get", "Open_vSwitch", ".", "other_config:ipsec_skb_mark").trim()).toMatch(/^"?0\/1"?$/);

    // Run by its own #! (Debian's /usr/bin/python3, where python3-openvswitch lives).
    monitor = spawn(
      MONITOR,
      [`unix:${server.socketPath}`, `--root-prefix=${root}`, "--ike-daemon=strongswan", "-vconsole:info"],
      { env: { ...process.env, OVS_RUNDIR: join(root, "run") }, stdio: ["ignore", "pipe", "pipe"] },
    );
    monitor.stdout?.on("data", (d: Buffer) => (monitorLog += d.toString()));
    monitor.stderr?.on("data", (d: Buffer) => (monitorLog += d.toString()));
    const conf = await waitFor(
      `ipsec.conf naming both peers (monitor said: ${monitorLog.slice(-400)})`,
      () => {
        const c = file("etc/ipsec.conf");
        return REMOTES.every((r) => c.includes(`right=${r.ip}`)) ? c : undefined;
      },
      30_000,
    );
    // One transport-mode conn per encrypted tunnel, named for its port, over GRE, PSK auth.
    for (const r of REMOTES) {
      const conn = new RegExp(
        `conn ${encPort(r.ip)}-\\d+\\n\\s+left=%any\\n\\s+right=${r.ip.replace(/\./g, "\\.")}\\n\\s+authby=psk\\n` +
          "\\s+leftprotoport=gre\\n\\s+rightprotoport=gre",
      );
      expect(conf).toMatch(conn);
    }
    expect(conf).toContain("type=transport");
    // ipsec_skb_mark became the shunt that drops GRE no SA covers.
    expect(conf).toMatch(/conn prevent_unencrypted_gre\n\s+type=drop\n\s+leftprotoport=gre\n\s+mark=0\/1/);
    // The plain network's tunnels are not IPsec's business.
    expect(conf).not.toContain(tunnelPortName(4343, "192.0.2.11", "gre"));
    const secrets = file("etc/ipsec.secrets");
    for (const r of REMOTES) expect(secrets).toContain(`%any ${r.ip} : PSK "${PSK}"`);
    expect(secrets.match(/PSK/g)).toHaveLength(REMOTES.length);
    await waitFor("strongSwan told to reload", () => (file("calls").includes("ipsec update") ? true : undefined));

    // A host that leaves the encrypted network: its SA goes from the configuration.
    await vs.applyTunnels("n-enc", { type: "gre", key: 4242, psk: PSK }, REMOTES.slice(0, 1));
    await waitFor("the departed peer dropped", () =>
      file("etc/ipsec.conf").includes("192.0.2.12") ? undefined : true,
    );
    expect(file("etc/ipsec.secrets")).not.toContain("192.0.2.12");
    expect(file("etc/ipsec.secrets")).not.toContain(OTHER_PSK);
  }, 90_000);

  it("refuses an encrypted set on a userspace (netdev) bridge before writing anything", async () => {
    server.vsctl("add-br", "br-user", "--", "set", "Bridge", "br-user", "datapath_type=netdev");
    server.vsctl("br-set-external-id", "br-user", "sdn-managed", "true");
    server.vsctl("br-set-external-id", "br-user", "sdn-network-id", "n-user");
    server.vsctl("br-set-external-id", "br-user", "sdn-role", "network");
    await waitFor("the netdev bridge in the cache", () => (vs.bridges("n-user").length === 1 ? true : undefined));
    await expect(vs.applyTunnels("n-user", { type: "gre", key: 4444, psk: OTHER_PSK }, REMOTES)).rejects.toMatchObject({
      hostError: "IPSEC_DATAPATH_UNSUPPORTED",
    });
    expect(server.vsctl("list-ports", "br-user").trim()).toBe("");
    // The plain set on the same bridge is fine: only encryption needs the kernel datapath.
    expect((await vs.applyTunnels("n-user", { type: "gre", key: 4444 }, REMOTES)).added).toHaveLength(2);
  }, 30_000);
});
