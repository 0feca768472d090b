import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  exec,
  execQuiet,
  HOST_PATH,
  inNetns,
  randomMac,
  type ExecResult,
  type GuestPort,
  type Lab,
  type LabHost,
} from "../lab/index.js";

const here = fileURLToPath(new URL(".", import.meta.url));
export const PROBE = resolve(here, "probe.py");

/** Where routers keep the router program and its state; each lab router sees its own folders there. */
export const ROUTER_PROGRAM_DIR = "/opt/sdn-router";
export const ROUTER_STATE_DIR = "/var/lib/sdn-router";
export const ROUTER_PORT = 3922;

/** A namespace of the lab run: the lab's clean-up removes it and every process in it. */
export const labNamespace = async (lab: Lab, name: string): Promise<string> => {
  const ns = `sdnlab-${lab.runId}-${name}`;
  await exec(["ip", "netns", "add", ns]);
  await exec(["ip", "-n", ns, "link", "set", "lo", "up"]);
  return ns;
};

/** Starts a long-running program in a namespace, detached; the lab's clean-up ends it. Its pid. */
export const startIn = (ns: string, argv: readonly string[]): number => {
  // `ip netns exec` execs the program: the pid is the program's.
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: "ignore", detached: true });
  child.unref();
  return child.pid as number;
};

/** Runs the probe client in a namespace: the answer line, or undefined when nothing answered. */
export const probe = async (
  ns: string,
  ip: string,
  port: number,
  opts: { udp?: boolean; source?: string; timeoutS?: number } = {},
): Promise<string | undefined> => {
  const argv = [
    "python3",
    PROBE,
    "get",
    ip,
    String(port),
    ...(opts.udp === true ? ["udp"] : []),
    ...(opts.source === undefined ? [] : ["--source", opts.source]),
    "--timeout",
    String(opts.timeoutS ?? 2),
  ];
  const r = await execQuiet(inNetns(ns, argv));
  return r.code === 0 ? r.stdout.trim() : undefined;
};

/** Starts the probe server (answers "<name> <client ip>") in a namespace and waits until it listens. */
export const serveProbe = async (ns: string, port: number, name: string, udp = false): Promise<number> => {
  const pid = startIn(ns, ["python3", PROBE, "serve", String(port), name, ...(udp ? ["udp"] : [])]);
  if (udp) return pid;
  for (let i = 0; i < 50; i++) {
    const r = await execQuiet(inNetns(ns, ["python3", PROBE, "get", "127.0.0.1", String(port), "--timeout", "1"]));
    if (r.code === 0) return pid;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`probe server on ${ns}:${port} did not start`);
};

/** Starts the probe's echo server (every line comes back) in a namespace and waits until it listens. */
export const serveEcho = async (ns: string, port: number): Promise<number> => {
  const pid = startIn(ns, ["python3", PROBE, "echo", String(port)]);
  for (let i = 0; i < 50; i++) {
    if ((await execQuiet(inNetns(ns, ["ss", "-Htln", `sport = :${port}`]))).stdout.trim() !== "") return pid;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`echo server on ${ns}:${port} did not start`);
};

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * One long-lived TCP connection from a namespace to an echo server, opened now and kept
 * open: `say` sends a line over that same connection and answers "ok <line>" once it came
 * back, or "dead <why>" once it did not (within the timeout; a dead connection stays dead).
 */
export class HeldConnection {
  private static opened = 0;

  private constructor(private readonly control: string) {}

  static async open(lab: Lab, ns: string, ip: string, port: number, timeoutS = 2): Promise<HeldConnection> {
    // A short path: Unix socket paths end at 107 bytes.
    const control = join(lab.dir, `hold-${++HeldConnection.opened}.sock`);
    const pid = startIn(ns, ["python3", PROBE, "hold", ip, String(port), control, "--timeout", String(timeoutS)]);
    // It ends when it cannot connect.
    for (let i = 0; i < 100 && !existsSync(control) && isRunning(pid); i++) {
      await new Promise((res) => setTimeout(res, 100));
    }
    if (!existsSync(control)) throw new Error(`no connection from ${ns} to ${ip}:${port}`);
    return new HeldConnection(control);
  }

  say(line: string): Promise<string> {
    return new Promise((res, rej) => {
      let answer = "";
      const s = createConnection(this.control, () => s.write(`${line}\n`));
      s.on("data", (d) => (answer += d.toString()));
      s.on("end", () => res(answer.trim()));
      s.on("error", rej);
    });
  }
}

export const ping = async (ns: string, ip: string, count = 2): Promise<boolean> =>
  (await execQuiet(inNetns(ns, ["ping", "-c", String(count), "-i", "0.2", "-W", "1", ip]))).code === 0;

/**
 * A virtual router appliance: a network namespace running sshd on its control address
 * (port 3922, key authentication only, its own host key) in a mount namespace of its own
 * where /opt/sdn-router and /var/lib/sdn-router are this router's folders, plus iptables
 * and haproxy once the router program configures them. Its interfaces are added by the
 * test: a control link, the public interface and one interface per guest network.
 */
export class LabRouter {
  readonly dir: string;
  readonly programDir: string;
  readonly stateDir: string;
  hostKeyFingerprint = "";
  controlAddress = "";

  private constructor(
    readonly name: string,
    readonly ns: string,
    dir: string,
  ) {
    this.dir = dir;
    this.programDir = join(dir, "program");
    this.stateDir = join(dir, "state");
  }

  static async create(lab: Lab, name: string): Promise<LabRouter> {
    const ns = await labNamespace(lab, name);
    const router = new LabRouter(name, ns, join(lab.dir, name));
    for (const d of [router.dir, router.programDir, router.stateDir, ROUTER_PROGRAM_DIR, ROUTER_STATE_DIR]) {
      mkdirSync(d, { recursive: true });
    }
    return router;
  }

  exec(argv: readonly string[]): Promise<ExecResult> {
    return execQuiet(inNetns(this.ns, argv));
  }

  /** The control link on the lab's underlay (reachable from the root namespace, like a management network). */
  async controlOnUnderlay(lab: Lab, hostNumber: number): Promise<void> {
    const port = `r${hostNumber}`;
    await exec([
      "ip",
      "-n",
      lab.underlayNs,
      "link",
      "add",
      port,
      "type",
      "veth",
      "peer",
      "name",
      "ctl0",
      "netns",
      this.ns,
    ]);
    await exec(["ip", "-n", lab.underlayNs, "link", "set", port, "master", "ul0", "up"]);
    this.controlAddress = `${lab.subnet}.${hostNumber}`;
    await exec(["ip", "-n", this.ns, "addr", "add", `${this.controlAddress}/24`, "dev", "ctl0"]);
    await exec(["ip", "-n", this.ns, "link", "set", "ctl0", "up"]);
  }

  /**
   * The control link only its host reaches: a link-local veth between the host's namespace
   * (169.254.0.1) and the router (the given address), as XenServer's control network.
   */
  async controlOnLinkLocal(host: LabHost, address: string): Promise<void> {
    await exec([
      "ip",
      "-n",
      host.ns,
      "link",
      "add",
      "vrctl0",
      "type",
      "veth",
      "peer",
      "name",
      "ctl0",
      "netns",
      this.ns,
    ]);
    await exec(["ip", "-n", host.ns, "addr", "add", "169.254.0.1/16", "dev", "vrctl0"]);
    await exec(["ip", "-n", host.ns, "link", "set", "vrctl0", "up"]);
    this.controlAddress = address;
    await exec(["ip", "-n", this.ns, "addr", "add", `${address}/16`, "dev", "ctl0"]);
    await exec(["ip", "-n", this.ns, "link", "set", "ctl0", "up"]);
  }

  /**
   * An interface of the router whose peer sits in `host`'s namespace, ready for PlugVif (the
   * router's NIC on a guest network), recorded by the host as a port of the router's VM:
   * `hostDevice` on KVM (VM vm-<router name>), vif<domid>.0 of a VM XAPI registers on
   * XenServer / XCP-ng. Returns the VM id and the port to plug.
   */
  async guestInterface(host: LabHost, name: string, hostDevice: string): Promise<GuestPort> {
    const mac = randomMac();
    const port = await host.guestPort(`vm-${this.name}`, hostDevice, mac);
    await exec([
      "ip",
      "-n",
      host.ns,
      "link",
      "add",
      port.device,
      "type",
      "veth",
      "peer",
      "name",
      name,
      "netns",
      this.ns,
    ]);
    await exec(["ip", "-n", this.ns, "link", "set", name, "address", mac]);
    await exec(["ip", "-n", host.ns, "link", "set", port.device, "up"]);
    await exec(["ip", "-n", this.ns, "link", "set", name, "up"]);
    // The userspace datapath reads frames raw: they must carry complete checksums.
    await exec(inNetns(this.ns, ["ethtool", "-K", name, "tx", "off"]));
    return port;
  }

  async startSshd(authorizedKeys: readonly string[]): Promise<void> {
    const sshDir = join(this.dir, "ssh");
    mkdirSync(sshDir, { recursive: true });
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const hostKey = join(sshDir, "host_key");
    // A restarted router keeps its host key (the vr-manager pinned it).
    if (!existsSync(hostKey)) {
      await exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `lab-${this.name}`, "-f", hostKey]);
      writeFileSync(join(sshDir, "authorized_keys"), authorizedKeys.map((k) => `${k.trim()}\n`).join(""), {
        mode: 0o600,
      });
    }
    const config = join(sshDir, "sshd_config");
    writeFileSync(
      config,
      [
        `ListenAddress ${this.controlAddress}`,
        `Port ${ROUTER_PORT}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(sshDir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(sshDir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "MaxSessions 10",
        `SetEnv PATH=${HOST_PATH}`,
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    const fp = await exec(["ssh-keygen", "-l", "-E", "sha256", "-f", `${hostKey}.pub`]);
    this.hostKeyFingerprint = fp.split(" ")[1] as string;
    const bashrc = join(sshDir, "bashrc");
    writeFileSync(bashrc, "");
    const script = [
      `mount --bind '${this.programDir}' '${ROUTER_PROGRAM_DIR}'`,
      `mount --bind '${this.stateDir}' '${ROUTER_STATE_DIR}'`,
      `{ [ ! -e /root/.bashrc ] || mount --bind '${bashrc}' /root/.bashrc; }`,
      `exec /usr/sbin/sshd -f '${config}' -E '${join(sshDir, "sshd.log")}'`,
    ].join(" && ");
    await exec(inNetns(this.ns, ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]));
  }

  /** Ends every sshd of the router, sessions included: the router is down for the vr-manager. */
  async stopSshd(): Promise<void> {
    const pids = (await exec(["ip", "netns", "pids", this.ns])).split("\n").filter(Boolean);
    for (const pid of pids) {
      let comm = "";
      try {
        comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      } catch {
        continue; // gone already
      }
      if (comm === "sshd") process.kill(Number(pid), "SIGTERM");
    }
  }

  authorize(publicKey: string): void {
    appendFileSync(join(this.dir, "ssh", "authorized_keys"), `${publicKey.trim()}\n`);
  }

  /** The router program's saved state (what it last applied). */
  savedState(): { generation: number; hash: string } {
    return JSON.parse(readFileSync(join(this.stateDir, "state.json"), "utf8")) as { generation: number; hash: string };
  }

  /** The router's iptables rules, without comments and counters (for comparisons). */
  async iptables(): Promise<string> {
    return (await this.exec(["iptables-save"])).stdout
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .join("\n")
      .replace(/\[[0-9]+:[0-9]+\]/g, "");
  }
}

/**
 * The internet of a lab: a namespace whose bridge `brpub` holds the given addresses (with
 * their prefix length) and into which routers' public interfaces are plugged.
 */
export class LabInternet {
  private constructor(readonly ns: string) {}

  static async create(lab: Lab, name: string, addresses: readonly string[]): Promise<LabInternet> {
    const ns = await labNamespace(lab, name);
    await exec(["ip", "-n", ns, "link", "add", "brpub", "type", "bridge"]);
    for (const address of addresses) await exec(["ip", "-n", ns, "addr", "add", address, "dev", "brpub"]);
    await exec(["ip", "-n", ns, "link", "set", "brpub", "up"]);
    return new LabInternet(ns);
  }

  /** Plugs the router's public interface `eth1` into the bridge, through the bridge port `port`. */
  async plug(router: LabRouter, port: string): Promise<void> {
    await exec(["ip", "-n", router.ns, "link", "add", "eth1", "type", "veth", "peer", "name", port, "netns", this.ns]);
    await exec(["ip", "-n", this.ns, "link", "set", port, "master", "brpub", "up"]);
    await exec(["ip", "-n", router.ns, "link", "set", "eth1", "up"]);
  }
}
