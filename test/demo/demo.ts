/**
 * The quickstart's stage hands (test/demo/quickstart.ts tells the story): the programs it
 * needs, the emulated lab and the controller it starts, `sdnctl` echoed as an operator types
 * it, and the clean-up that removes everything again, also after a signal.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "@sdn/testkit";
import { Lab, type KvmLabHost, type XapiLabHost } from "../lab/index.js";
import { LabRouter, ROUTER_PROGRAM_DIR, ROUTER_STATE_DIR } from "../vr-manager/router-lab.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SDNCTL = join(root, "apps/sdnctl/dist/main.js");
const LAUNCHER = join(root, "apps/launcher/dist/main.js");

export const say = (line: string) => process.stdout.write(`${line}\n`);
export const step = (n: number, what: string) => say(`\n== ${n}. ${what}`);

/** What the demo needs besides root: the programs the lab and the controller run. */
export const NEEDED = [
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

export const missingPrograms = (): string[] =>
  NEEDED.filter(([bin]) => spawnSync("sh", ["-c", `command -v ${bin}`], { env: pathEnv() }).status !== 0).map(
    ([bin, pkg]) => `${bin} (Debian package ${pkg})`,
  );

const pathEnv = () => ({ ...process.env, PATH: `${process.env["PATH"] ?? ""}:/usr/sbin:/sbin` });

export class Stopped extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
  }
}

export class Demo {
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

export const json = <T>(text: string): T => JSON.parse(text) as T;
