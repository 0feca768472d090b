import { exec, execQuiet, inNetns, type ExecResult } from "./exec.js";

/** A guest: a network namespace whose eth0 is a veth whose peer sits in its host's namespace. */
export class LabVm {
  constructor(
    readonly name: string,
    readonly ns: string,
    /** The VM's port as the host sees it (e.g. vif3.0 on Xen, vnet0 on KVM): what PlugVif takes. */
    readonly hostDevice: string,
    readonly mac: string,
    /** Address with prefix length, e.g. 192.168.77.1/24. */
    readonly cidr: string,
    /** The XAPI VM uuid on XenServer/XCP-ng hosts. */
    readonly uuid?: string,
  ) {}

  get ip(): string {
    return this.cidr.split("/")[0] as string;
  }

  exec(argv: readonly string[]): Promise<ExecResult> {
    return execQuiet(inNetns(this.ns, argv));
  }

  /** True when `count` echo requests to `ip` all get an answer. */
  async ping(ip: string, count = 3): Promise<boolean> {
    const r = await this.exec(["ping", "-c", String(count), "-i", "0.2", "-W", "2", ip]);
    return r.code === 0;
  }

  async run(argv: readonly string[]): Promise<string> {
    return exec(inNetns(this.ns, argv));
  }
}
