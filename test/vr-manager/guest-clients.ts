import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lab, LabVm } from "../lab/index.js";

/** What a DHCP client was handed (from its script's environment). */
export interface DhcpLease {
  ip: string;
  router: string;
  mtu: number;
  dns: string;
  hostname: string | undefined;
  domain: string | undefined;
  /** dhclient's rfc3442 routes ("24 10 2 0 10 1 0 1 ..."), or udhcpc's staticroutes. */
  classlessRoutes: string | undefined;
}

let runs = 0;

/**
 * A DHCP client script (dhclient's -sf, udhcpc's -s) that configures eth0 as the lease says
 * (address, MTU, default route) and writes its environment to `out`: what the client got.
 */
const script = (out: string) => `#!/bin/sh
r="\${reason:-$1}"
case "$r" in
  BOUND|RENEW|REBOOT|REBIND|bound|renew)
    env > "${out}"
    addr="\${new_ip_address:-$ip}"; mask="\${new_subnet_mask:-$subnet}"
    gw="\${new_routers:-$router}"; m="\${new_interface_mtu:-$mtu}"
    ip addr flush dev "$interface"
    ip addr add "$addr/$mask" dev "$interface"
    [ -z "$m" ] || ip link set "$interface" mtu "$m"
    ip route replace default via "\${gw%% *}" dev "$interface"
    ;;
esac
exit 0
`;

/**
 * Runs a real DHCP client in the VM: dhclient (ISC) or busybox udhcpc. The lease it got,
 * with eth0 configured from it; undefined when no server answered (udhcpc: 4 tries, 1 s apart).
 */
export const dhcpClient = async (
  lab: Lab,
  vm: LabVm,
  client: "dhclient" | "udhcpc",
): Promise<DhcpLease | undefined> => {
  const dir = join(lab.dir, `dhcp-${vm.name}-${++runs}`);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, "env");
  writeFileSync(join(dir, "script"), script(out), { mode: 0o755 });
  if (client === "dhclient") {
    const pid = join(dir, "pid");
    await vm.exec([
      "timeout",
      "20",
      "dhclient",
      "-1",
      "-lf",
      join(dir, "leases"),
      "-pf",
      pid,
      "-sf",
      join(dir, "script"),
      "eth0",
    ]);
    // Bound, dhclient stays to renew: this test wants one answer only.
    if (existsSync(pid)) process.kill(Number(readFileSync(pid, "utf8").trim()), "SIGTERM");
  } else {
    await vm.exec(
      ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "4", "-T", "1"].concat([
        "-s",
        join(dir, "script"),
        "-O",
        "mtu",
        "-O",
        "staticroutes",
      ]),
    );
  }
  if (!existsSync(out)) return undefined;
  const env = Object.fromEntries(
    readFileSync(out, "utf8")
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  ) as Record<string, string | undefined>;
  rmSync(out);
  const pick = (isc: string, busybox: string) => env[isc] ?? env[busybox];
  return {
    ip: pick("new_ip_address", "ip") as string,
    router: (pick("new_routers", "router") ?? "").split(" ")[0] as string,
    mtu: Number(pick("new_interface_mtu", "mtu")),
    dns: (pick("new_domain_name_servers", "dns") ?? "").trim(),
    hostname: pick("new_host_name", "hostname"),
    domain: pick("new_domain_name", "domain"),
    classlessRoutes: pick("new_rfc3442_classless_static_routes", "staticroutes"),
  };
};

/** Drives cloud-init's own CloudStack datasource (Debian's cloud-init), as a VM's boot would. */
const CLOUD_INIT = `
import json, sys, tempfile
from cloudinit import helpers
from cloudinit.sources import DataSourceCloudStack as cs
d = tempfile.mkdtemp()
ds = cs.DataSourceCloudStack({"datasource": {"CloudStack": {"max_wait": 20, "timeout": 5}}}, None,
                             helpers.Paths({"cloud_dir": d, "run_dir": d}))
ok = ds._get_data()
raw = ds.userdata_raw or b""
print(json.dumps({"ok": ok, "vr": ds.vr_addr, "userdata": raw.decode() if isinstance(raw, bytes) else raw,
                  "metadata": ds.metadata}))
`;

/**
 * Runs cloud-init's CloudStack datasource in the VM. The VM's resolver is what its DHCP
 * lease said (the router, the network's domain): cloud-init finds the router as CloudStack
 * guests do, by the name data-server. `netnsDirs` collects what to remove afterwards.
 */
export const cloudInitProbe = async (
  lab: Lab,
  vm: LabVm,
  netnsDirs: string[],
  domain: string,
  nameserver: string,
): Promise<{ ok: boolean; vr: string; userdata: string; metadata: Record<string, string> }> => {
  // ip netns exec shows /etc/netns/<ns>/resolv.conf as the VM's /etc/resolv.conf.
  const etc = join("/etc/netns", vm.ns);
  mkdirSync(etc, { recursive: true });
  netnsDirs.push(etc);
  writeFileSync(join(etc, "resolv.conf"), `nameserver ${nameserver}\nsearch ${domain}\n`);
  const driver = join(lab.dir, "cloud-init-probe.py");
  writeFileSync(driver, CLOUD_INIT);
  const r = await vm.exec(["/usr/bin/python3", driver]);
  if (r.code !== 0) throw new Error(`cloud-init probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as never;
};
