/**
 * `npm run demo`: the quickstart. Builds an emulated data centre with the lab (a XenServer,
 * an XCP-ng and a KVM host), starts the controller as `npm start` does (a private
 * nats-server and the launcher), drives it through the `sdnctl` command line, and proves
 * the GRE mesh with pings. Then it puts a virtual router on one network, with source NAT
 * towards an emulated internet and a port forward, and proves both with web requests.
 * Everything it made is removed on exit, also on Ctrl-C / SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "@sdn/testkit";
import { Lab, type KvmLabHost, type LabVm, type XapiLabHost } from "../lab/index.js";
import { LabInternet, LabRouter, ROUTER_PROGRAM_DIR, ROUTER_STATE_DIR } from "../vr-manager/router-lab.js";
import { fetchPage, serveWeb } from "./web.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SDNCTL = join(root, "libs/sdnctl/dist/main.js");
const LAUNCHER = join(root, "libs/launcher/dist/main.js");
const CIDR = "192.168.50.0/24";
/** The emulated internet: a public range and its web server at the range's gateway. */
const PUBLIC_CIDR = "203.0.113.0/24";
const INTERNET_SERVER = "203.0.113.1";

const say = (line: string) => process.stdout.write(`${line}\n`);
const step = (n: number, what: string) => say(`\n== ${n}. ${what}`);

/** What the demo needs besides root: the programs the lab and the controller run. */
const NEEDED = [
  ["ovs-vsctl", "openvswitch-switch"],
  ["ovsdb-server", "openvswitch-switch"],
  ["/usr/sbin/sshd", "openssh-server"],
  ["nats-server", "nats-server"],
  ["ip", "iproute2"],
  ["ethtool", "ethtool"],
  ["iptables-restore", "iptables"],
  // The router cuts the connections a rule change revokes with it.
  ["conntrack", "conntrack"],
  ["/usr/bin/python3", "python3"],
] as const;

const missingPrograms = (): string[] =>
  NEEDED.filter(([bin]) => spawnSync("sh", ["-c", `command -v ${bin}`], { env: pathEnv() }).status !== 0).map(
    ([bin, pkg]) => `${bin} (Debian package ${pkg})`,
  );

const pathEnv = () => ({ ...process.env, PATH: `${process.env["PATH"] ?? ""}:/usr/sbin:/sbin` });

class Stopped extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
  }
}

class Demo {
  readonly dir = mkdtempSync(join(tmpdir(), "sdn-demo-"));
  private lab: Lab | undefined;
  private launcher: ChildProcess | undefined;
  private env: Record<string, string> = {};
  private cleaning: Promise<void> | undefined;
  /** Mount points the lab routers need that did not exist before the demo (removed again). */
  private readonly madeDirs: string[] = [];
  /** The signal that asked the demo to stop: the steps stop at their next checkpoint. */
  stopSignal: NodeJS.Signals | undefined;
  readonly adminToken = `sdn_${randomBytes(32).toString("base64url")}`;

  /** Runs `sdnctl args`, echoing the command and its output; fails on a non-zero exit. */
  sdnctl(args: string[], opts: { stdin?: string; quiet?: boolean; token?: string } = {}): string {
    this.checkpoint();
    say(`$ sdnctl ${args.join(" ")}`);
    const res = spawnSync(process.execPath, [SDNCTL, ...args], {
      env: { ...this.env, ...(opts.token === undefined ? {} : { SDN_TOKEN: opts.token }) },
      input: opts.stdin ?? "",
      encoding: "utf8",
    });
    // Ctrl-C reaches sdnctl too (same process group): the demo is stopping, not failing.
    if (res.signal !== null) throw new Stopped(res.signal);
    if (opts.quiet !== true) for (const l of res.stdout.trimEnd().split("\n")) if (l !== "") say(`  ${l}`);
    if (res.status !== 0) throw new Error(`sdnctl ${args[0]} ${args[1]} exited ${res.status}: ${res.stderr.trim()}`);
    return res.stdout;
  }

  /** Throws once a signal asked to stop, so that no step starts after it. */
  checkpoint(): void {
    if (this.stopSignal !== undefined) throw new Stopped(this.stopSignal);
  }

  async buildLab(): Promise<{ lab: Lab; xen: XapiLabHost; xcp: XapiLabHost; kvm: KvmLabHost }> {
    const lab = await Lab.create();
    this.lab = lab;
    say(`lab run ${this.lab.runId}: network namespaces sdnlab-${this.lab.runId}-*, files in ${this.lab.dir}`);
    const xen = await this.lab.addXapiHost("xen", { flavour: "xenserver" });
    say(`  xen  XenServer  ${xen.address}  (XAPI emulator on :443, OVS, dom0 sshd)`);
    this.checkpoint();
    const xcp = await this.lab.addXapiHost("xcp", { flavour: "xcp-ng" });
    say(`  xcp  XCP-ng     ${xcp.address}  (XAPI emulator on :443, OVS, dom0 sshd)`);
    this.checkpoint();
    const kvm = await this.lab.addKvmHost("kvm");
    say(`  kvm  KVM        ${kvm.address}  (OVS, sshd)`);
    return { lab, xen, xcp, kvm };
  }

  /** A router VM of the lab; notes the mount points it creates so that the clean-up removes them. */
  async labRouter(lab: Lab, name: string): Promise<LabRouter> {
    this.checkpoint();
    for (const d of [ROUTER_PROGRAM_DIR, ROUTER_STATE_DIR]) if (!existsSync(d)) this.madeDirs.push(d);
    return LabRouter.create(lab, name);
  }

  async startController(): Promise<void> {
    this.checkpoint();
    const natsPort = await freePort();
    const httpPort = await freePort();
    const log = openSync(join(this.dir, "controller.log"), "a");
    // The launcher starts its own nats-server, authentication on, as `npm start` does.
    const env: NodeJS.ProcessEnv = { ...pathEnv() };
    delete env["NATS_URL"];
    say(`nats-server (JetStream, authentication on) on 127.0.0.1:${natsPort}, started by the launcher`);
    // Ctrl-C reaches the whole process group; the children are detached so that the demo
    // stops them itself, in order (services first, then NATS).
    this.launcher = spawn(process.execPath, [LAUNCHER], {
      stdio: ["ignore", log, log],
      detached: true,
      env: {
        ...env,
        SDN_NATS_PORT: String(natsPort),
        SDN_DATA_DIR: join(this.dir, "data"),
        SDN_HTTP_PORT: String(httpPort),
        SDN_ADMIN_TOKEN: this.adminToken,
        LOG_LEVEL: "warn",
      },
    });
    const url = `http://127.0.0.1:${httpPort}`;
    say(`launcher: api-gateway, network-guru, hypervisor-agent, ovs-element, ... API at ${url}`);
    say(`  (controller logs: ${this.dir}/controller.log)`);
    await waitFor(
      "the controller to be ready (/readyz)",
      async () => {
        this.checkpoint();
        if (this.launcher?.exitCode !== null) throw new Error(`the launcher exited; see ${this.dir}/controller.log`);
        const res = await fetch(`${url}/readyz`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      60_000,
    );
    this.env = { PATH: process.env["PATH"] ?? "", HOME: this.dir, SDN_URL: url, SDN_TOKEN: this.adminToken };
  }

  /** Stops what it started, in reverse order; safe to call twice and from a signal. */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      say("\n== cleaning up");
      await stopChild(this.launcher, "launcher (services)", 20_000);
      if (this.lab !== undefined) {
        await this.lab.dispose();
        say(`  lab ${this.lab.runId} removed (namespaces, OVS, sshd, XAPI emulators, router, web servers)`);
      }
      // The router's mount points (its private mount namespace ended with it): removed
      // only while empty, so that nothing another program put there since is lost.
      for (const d of this.madeDirs) {
        try {
          rmdirSync(d);
          say(`  ${d} removed`);
        } catch (err) {
          say(`  ${d} left in place: ${(err as Error).message}`);
        }
      }
      rmSync(this.dir, { recursive: true, force: true });
      say(`  ${this.dir} removed`);
    })();
    return this.cleaning;
  }
}

const stopChild = async (child: ChildProcess | undefined, name: string, timeoutMs: number): Promise<void> => {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
  say(`  ${name} stopped`);
};

const json = <T>(text: string): T => JSON.parse(text) as T;

const ping = async (demo: Demo, vm: LabVm, to: LabVm): Promise<boolean> => {
  demo.checkpoint();
  const ok = await vm.ping(to.ip, 2);
  say(`  ${vm.name.padEnd(10)} -> ${to.name.padEnd(10)} ${to.ip.padEnd(14)} ${ok ? "reply" : "no reply"}`);
  return ok;
};

const run = async (demo: Demo): Promise<void> => {
  step(1, "emulated data centre (test/lab): three hypervisors on one underlay");
  const { lab, xen, xcp, kvm } = await demo.buildLab();

  step(2, "controller: a private NATS and the five services, as `npm start` does");
  await demo.startController();
  demo.sdnctl(["health"]);

  step(3, "add the hosts (the agent connects, identifies them and deploys its host programs)");
  const keyFile = join(demo.dir, "lab-key");
  writeFileSync(keyFile, kvm.clientPrivateKey, { mode: 0o600 });
  const hostIds = new Map<string, string>();
  for (const [h, hypervisor] of [
    [xen, "xenserver"],
    [xcp, "xcp-ng"],
  ] as const) {
    const caFile = join(demo.dir, `${h.name}-ca.pem`);
    writeFileSync(caFile, h.caCertificate);
    const args = ["hosts", "add", h.name, "--hypervisor", hypervisor, "--address", h.address, "--username"];
    const out = demo.sdnctl(
      [...args, h.username, "--password-file", "-", "--tls-certificate-file", caFile, "--wait", "--json"],
      { stdin: `${h.password}\n`, quiet: true },
    );
    hostIds.set(h.name, json<{ id: string }>(out).id);
  }
  const kvmArgs = ["hosts", "add", kvm.name, "--hypervisor", "kvm", "--address", kvm.address, "--username"];
  const kvmOut = demo.sdnctl(
    [
      ...kvmArgs,
      kvm.username,
      "--private-key-file",
      keyFile,
      "--host-key-fingerprint",
      kvm.hostKeyFingerprint,
      "--wait",
      "--json",
    ],
    { quiet: true },
  );
  hostIds.set(kvm.name, json<{ id: string }>(kvmOut).id);
  demo.sdnctl(["hosts", "list"]);

  step(4, "a tenant account and two networks with the same CIDR");
  const account = json<{ account: { id: string }; token: { token: string } }>(
    demo.sdnctl(["accounts", "create", "demo", "--json"], { quiet: true }),
  );
  const token = account.token.token;
  say(`  account ${account.account.id}; its token drives the rest`);
  const networks: Record<"blue" | "green", string> = { blue: "", green: "" };
  let gateway = "";
  for (const name of ["blue", "green"] as const) {
    const out = demo.sdnctl(["networks", "create", name, "--cidr", CIDR, "--wait", "--json"], { token, quiet: true });
    ({ id: networks[name], gateway } = json<{ id: string; gateway: string }>(out));
  }
  demo.sdnctl(["networks", "list"], { token });

  step(5, "a VM on every host in each network, plugged with sdnctl");
  const vms: Record<"blue" | "green", LabVm[]> = { blue: [], green: [] };
  for (const [n, name] of (["blue", "green"] as const).entries()) {
    for (const [i, h] of [xen, xcp, kvm].entries()) {
      demo.checkpoint();
      const vm = await h.addVm(`${name}-${h.name}`, `192.168.50.${11 + 10 * n + i}/24`);
      // Both networks have the same gateway address; only blue's will have a router behind it.
      await vm.run(["ip", "route", "add", "default", "via", gateway]);
      vms[name].push(vm);
      const host = hostIds.get(h.name) ?? "";
      const where =
        h === kvm
          ? ["--vm", vm.name, "--host-interface", vm.hostDevice, "--mac", vm.mac]
          : ["--vm", vm.uuid ?? vm.name];
      demo.sdnctl(["nics", "plug", networks[name], "--host", host, ...where, "--ip", vm.ip, "--wait", "--json"], {
        token,
        quiet: true,
      });
    }
    demo.sdnctl(["nics", "list", networks[name]], { token });
  }

  step(6, "the GRE mesh of network blue: one tunnel per direction between its hosts");
  demo.sdnctl(["tunnels", "list", networks.blue], { token });
  demo.sdnctl(["providers", "list"], { token });

  step(7, "proof: blue VMs reach each other across the three hypervisors ...");
  let failures = 0;
  for (const a of vms.blue) for (const b of vms.blue) if (a !== b && !(await ping(demo, a, b))) failures++;
  say("   ... and nothing crosses into green, although it has the same addresses");
  for (const [i, a] of vms.blue.entries()) {
    const b = vms.green[(i + 1) % vms.green.length] as LabVm;
    if (await ping(demo, a, b)) failures++;
  }
  if (failures > 0) throw new Error(`${failures} ping(s) did not behave as expected`);
  say("   the mesh carries each network's traffic, and only its own");

  await routerSteps(demo, { lab, kvm, hostIds, token, blue: networks.blue, vms });
  say("\nall good: the mesh carries each network's traffic, and blue's router takes it to the internet and back");
};

interface RouterScene {
  lab: Lab;
  kvm: KvmLabHost;
  hostIds: Map<string, string>;
  token: string;
  blue: string;
  vms: Record<"blue" | "green", LabVm[]>;
}

/** Fetches `url` from namespace `ns`, prints the answer; whether the page came. */
const fetchAndSay = async (demo: Demo, who: string, ns: string, url: string): Promise<string | undefined> => {
  demo.checkpoint();
  const page = await fetchPage(ns, url);
  demo.checkpoint(); // Ctrl-C reaches the client too: an interrupted request is no answer to report
  say(`  ${who.padEnd(10)} GET ${url.padEnd(26)} ${page === undefined ? "no answer" : `-> "${page}"`}`);
  return page;
};

const routerSteps = async (demo: Demo, scene: RouterScene): Promise<void> => {
  const { lab, kvm, hostIds, token, blue, vms } = scene;
  step(8, `the internet: public range ${PUBLIC_CIDR}, a web server at ${INTERNET_SERVER}`);
  const internet = await LabInternet.create(lab, "internet", [`${INTERNET_SERVER}/24`]);
  await serveWeb(internet.ns, 80, `the internet's web server ${INTERNET_SERVER}`);
  say(`  namespace ${internet.ns}: bridge brpub ${INTERNET_SERVER}/24 stands for the internet`);
  // Flags written as one types them (no value holds a space).
  const range = `--name internet --cidr ${PUBLIC_CIDR} --gateway ${INTERNET_SERVER} --start 203.0.113.10 --end 203.0.113.99`;
  demo.sdnctl(["public-ip-ranges", "create", ...range.split(" ")]);
  const acquired = demo.sdnctl(["public-ips", "acquire", "--network", blue, "--wait", "--json"], {
    token,
    quiet: true,
  });
  const publicIp = json<{ id: string; ip: string }>(acquired);
  say(`  blue's first public IP, its source NAT address: ${publicIp.ip} (${publicIp.id})`);

  step(9, "a virtual router for blue on kvm: sshd on the management network, iptables, the sdn-router program");
  const key = json<{ publicKey: string }>(demo.sdnctl(["routers", "ssh-key", "--json"], { quiet: true })).publicKey;
  const router = await demo.labRouter(lab, "router");
  await router.controlOnUnderlay(lab, 200);
  await internet.plug(router, "p-router");
  const routerPort = await router.guestInterface(kvm, "eth2", "vrblue");
  await router.startSshd([key]);
  say(`  router VM ${router.ns}: control ${router.controlAddress}:3922 (sshd, the controller's key only)`);
  say(`    eth1 on the internet's bridge; eth2 on blue, host device vrblue on kvm`);
  demo.sdnctl([
    "routers",
    "register",
    "router-blue",
    "--host",
    hostIds.get(kvm.name) ?? "",
    "--vm",
    routerPort.vmId,
    "--networks",
    blue,
    "--control-address",
    router.controlAddress,
    "--host-key",
    router.hostKeyFingerprint,
    "--public-interface",
    "eth1",
    "--nic",
    `${blue}:eth2:vrblue`,
    "--wait",
  ]);
  demo.sdnctl(["routers", "list"]);
  say("  its NIC on blue holds the gateway address, plugged into the mesh by the ovs-element:");
  demo.sdnctl(["nics", "list", blue], { token });

  step(10, "proof: source NAT, blue VMs reach the internet's server, which sees the public IP ...");
  let failures = 0;
  const serverUrl = `http://${INTERNET_SERVER}/`;
  for (const vm of vms.blue) {
    const page = await fetchAndSay(demo, vm.name, vm.ns, serverUrl);
    if (page?.endsWith(`you came from ${publicIp.ip}`) !== true) failures++;
  }
  say("   ... and green, which has no router, does not");
  const green = vms.green[0] as LabVm;
  if ((await fetchAndSay(demo, green.name, green.ns, serverUrl)) !== undefined) failures++;

  step(11, `a port forward: ${publicIp.ip}:8080 -> a web server on blue's VM on xen, port 80`);
  const web = vms.blue[0] as LabVm;
  await serveWeb(web.ns, 80, `Hello from ${web.name} (${web.ip}), a VM of network blue`);
  say(`  web server on ${web.name} ${web.ip}:80`);
  const forward = `--public-ip ${publicIp.id} --protocol tcp --public-port 8080 --private-ip ${web.ip} --private-port 80`;
  demo.sdnctl(["port-forwards", "create", blue, ...forward.split(" "), "--wait"], { token });
  say("  ingress to a public IP is denied until a firewall rule opens it:");
  demo.sdnctl(
    ["firewall-rules", "create", blue, "--public-ip", publicIp.id, "--protocol", "tcp", "--ports", "8080", "--wait"],
    { token },
  );
  demo.sdnctl(["port-forwards", "list", blue], { token });
  say("  the page, fetched from the internet through the public IP:");
  const page = await fetchAndSay(demo, "internet", internet.ns, `http://${publicIp.ip}:8080/`);
  if (page !== `Hello from ${web.name} (${web.ip}), a VM of network blue; you came from ${INTERNET_SERVER}`) failures++;
  if (failures > 0) throw new Error(`${failures} request(s) through the router did not behave as expected`);
};

const main = async (): Promise<number> => {
  if (process.getuid?.() !== 0) {
    say("the quickstart builds network namespaces and runs OVS and sshd: it needs root (sudo npm run demo)");
    say(`and these programs: ${NEEDED.map(([b, p]) => `${b} (${p})`).join(", ")}`);
    return 2;
  }
  const missing = missingPrograms();
  if (missing.length > 0) {
    say(`missing programs: ${missing.join(", ")}; install them (apt-get install ...) and run again`);
    return 2;
  }
  const demo = new Demo();
  say(`sdn quickstart, work dir ${demo.dir}`);
  // A signal stops the steps at their next checkpoint (each step is short); the cleanup
  // below then runs once, after the step in flight, so nothing is created after it.
  const onSignal = (signal: NodeJS.Signals) => {
    if (demo.stopSignal !== undefined) return;
    demo.stopSignal = signal;
    say(`\n${signal}: stopping`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await run(demo);
    demo.checkpoint();
    return 0;
  } catch (err) {
    if (err instanceof Stopped) return err.signal === "SIGINT" ? 130 : 143;
    say(`\ndemo failed: ${(err as Error).message}`);
    try {
      const log = readFileSync(join(demo.dir, "controller.log"), "utf8").trimEnd().split("\n").slice(-20);
      say(`last controller log lines:\n${log.join("\n")}`);
    } catch {
      // no log yet: the failure came before the controller started
    }
    return 1;
  } finally {
    await demo.cleanup();
  }
};

process.exitCode = await main();
