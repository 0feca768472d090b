import { randomBytes, randomInt } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec, execQuiet } from "./exec.js";
import type { HostPlacement, LabHost } from "./host.js";
import { KvmLabHost } from "./kvm-host.js";
import { XapiLabHost, type XapiHostOptions } from "./xapi-host.js";

const PREFIX = "sdnlab-";
const PREFIX_LENGTH = 24;

/**
 * An emulated data centre on this machine, for tests. Every name it creates carries a
 * random run id (namespaces `sdnlab-<run>-*`, root link `sl<run>`, folder
 * `/tmp/sdnlab-<run>`), so concurrent runs never collide, and `dispose()` removes all of
 * it. A run whose process died is cleaned up by the next `Lab.create()` (or by
 * `Lab.cleanupLeftovers()`).
 *
 * Layout: an "underlay" namespace holds a Linux bridge, the L2 segment every host's
 * `eth0` and the root namespace's `sl<run>` are plugged into (10.a.b.0/24: root .1, hosts
 * from .10), so the agent in the root namespace reaches hosts the way it reaches real
 * ones. Nothing in the root namespace is touched besides that one link and its route.
 */
export class Lab {
  private readonly hosts: LabHost[] = [];
  private nextHost = 10;
  private sshKey: { privateKey: string; publicKeyFile: string } | undefined;

  private constructor(
    readonly runId: string,
    readonly dir: string,
    /** First three octets of the underlay subnet, e.g. "10.213.7". */
    readonly subnet: string,
  ) {}

  get underlayNs(): string {
    return `${PREFIX}${this.runId}-ul`;
  }
  get rootLink(): string {
    return `sl${this.runId}`;
  }
  /** The root namespace's address on the underlay (where the agent's traffic comes from). */
  get gateway(): string {
    return `${this.subnet}.1`;
  }
  /** The host's port on the underlay bridge (in the underlay namespace): every packet to or from it crosses it. */
  underlayPort(h: LabHost): string {
    return `h${h.address.split(".")[3]}`;
  }
  /** An underlay address no host holds: connecting to it fails (an unreachable host). */
  get unusedAddress(): string {
    return `${this.subnet}.250`;
  }

  static async create(): Promise<Lab> {
    await Lab.cleanupLeftovers();
    const runId = randomBytes(3).toString("hex");
    const dir = join(tmpdir(), `${PREFIX}${runId}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "owner.pid"), String(process.pid));
    const lab = new Lab(runId, dir, await freeSubnet());
    try {
      await lab.buildUnderlay();
    } catch (err) {
      await lab.dispose();
      throw err;
    }
    return lab;
  }

  private async buildUnderlay(): Promise<void> {
    const ul = this.underlayNs;
    await exec(["ip", "netns", "add", ul]);
    await exec(["ip", "-n", ul, "link", "add", "ul0", "type", "bridge"]);
    await exec(["ip", "-n", ul, "link", "set", "ul0", "up"]);
    await exec(["ip", "link", "add", this.rootLink, "type", "veth", "peer", "name", "root0", "netns", ul]);
    await exec(["ip", "-n", ul, "link", "set", "root0", "master", "ul0", "up"]);
    await exec(["ip", "addr", "add", `${this.gateway}/${PREFIX_LENGTH}`, "dev", this.rootLink]);
    await exec(["ip", "link", "set", this.rootLink, "up"]);
    // Frames from the root namespace reach hosts' userspace datapath raw: no checksum offload.
    await exec(["ethtool", "-K", this.rootLink, "tx", "off"]);
  }

  private async place(name: string): Promise<HostPlacement> {
    if (!/^[a-z0-9-]{1,20}$/.test(name) || this.hosts.some((h) => h.name === name)) {
      throw new Error(`lab host name '${name}' is invalid or taken`);
    }
    const index = this.nextHost++;
    const ns = `${PREFIX}${this.runId}-${name}`;
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    await exec(["ip", "netns", "add", ns]);
    await exec(["ip", "-n", ns, "link", "set", "lo", "up"]);
    // underlayPort() finds it again from the address (its last octet is the index).
    const port = `h${index}`;
    await exec(["ip", "-n", this.underlayNs, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await exec(["ip", "-n", this.underlayNs, "link", "set", port, "master", "ul0", "up"]);
    await exec(["ip", "-n", ns, "link", "set", "eth0", "up"]);
    return { ns, dir, address: `${this.subnet}.${index}`, prefixLength: PREFIX_LENGTH };
  }

  private async clientKey(): Promise<{ privateKey: string; publicKeyFile: string }> {
    if (this.sshKey === undefined) {
      const file = join(this.dir, "client_key");
      await exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `sdnlab-${this.runId}`, "-f", file]);
      this.sshKey = { privateKey: readFileSync(file, "utf8"), publicKeyFile: `${file}.pub` };
    }
    return this.sshKey;
  }

  /** A KVM host: OVS and sshd (root, key authentication with `clientPrivateKey`). */
  async addKvmHost(name: string): Promise<KvmLabHost> {
    const key = await this.clientKey();
    const host = new KvmLabHost(name, await this.place(name), key.privateKey);
    this.hosts.push(host);
    await host.startOvs();
    await host.startSshd(key.publicKeyFile);
    return host;
  }

  /**
   * A XenServer or XCP-ng host: OVS, the XAPI emulator (with the agent's plugin installed
   * unless `withoutPlugin`) and the control domain's sshd (root: the XAPI password, or the
   * key `clientPrivateKey`).
   */
  async addXapiHost(name: string, options: XapiHostOptions): Promise<XapiLabHost> {
    const key = await this.clientKey();
    const host = new XapiLabHost(name, await this.place(name), options, key.privateKey);
    this.hosts.push(host);
    await host.startOvs();
    await host.startXapi();
    await host.startSshd(key.publicKeyFile);
    return host;
  }

  /** Removes every namespace, process, link and file of this run. */
  async dispose(): Promise<void> {
    await cleanupRun(this.runId);
  }

  /** Cleans up the runs whose owning process is gone; returns their run ids. */
  static async cleanupLeftovers(): Promise<string[]> {
    const runs = new Set<string>();
    for (const entry of readdirSync(tmpdir())) {
      if (entry.startsWith(PREFIX)) runs.add(entry.slice(PREFIX.length));
    }
    for (const ns of await namespaces()) runs.add(ns.slice(PREFIX.length).split("-")[0] as string);
    const dead = [...runs].filter((run) => !ownerAlive(run));
    for (const run of dead) await cleanupRun(run);
    return dead;
  }
}

const ownerAlive = (run: string): boolean => {
  const file = join(tmpdir(), `${PREFIX}${run}`, "owner.pid");
  if (!existsSync(file)) return false;
  try {
    process.kill(Number(readFileSync(file, "utf8")), 0);
    return true;
  } catch {
    return false;
  }
};

const namespaces = async (): Promise<string[]> =>
  (await exec(["ip", "netns", "list"]))
    .split("\n")
    .map((l) => l.split(" ")[0] as string)
    .filter((n) => n.startsWith(PREFIX));

const cleanupRun = async (run: string): Promise<void> => {
  const mine = (await namespaces()).filter((n) => n.startsWith(`${PREFIX}${run}-`));
  // Every process of the run lives in one of its namespaces: end them all, then the namespaces.
  for (const signal of ["TERM", "KILL"]) {
    let any = false;
    for (const ns of mine) {
      const pids = (await execQuiet(["ip", "netns", "pids", ns])).stdout.split("\n").filter(Boolean);
      for (const pid of pids) {
        any = true;
        await execQuiet(["kill", `-${signal}`, pid]);
      }
    }
    if (!any) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  for (const ns of mine) await execQuiet(["ip", "netns", "del", ns]);
  await execQuiet(["ip", "link", "del", `sl${run}`]);
  rmSync(join(tmpdir(), `${PREFIX}${run}`), { recursive: true, force: true });
};

/** A 10.a.b.0/24 that no route of the root namespace overlaps. */
const freeSubnet = async (): Promise<string> => {
  const routes = await exec(["ip", "-4", "route", "show", "table", "all"]);
  for (let i = 0; i < 50; i++) {
    const subnet = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
    if (!routes.includes(`${subnet}.`)) return subnet;
  }
  throw new Error("no free 10.x.y.0/24 subnet for the lab underlay");
};
