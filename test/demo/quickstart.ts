/**
 * `npm run demo`: the quickstart. Builds an emulated data centre with the lab (a XenServer,
 * an XCP-ng and a KVM host), starts the controller as `npm start` does (a private
 * nats-server and the launcher), drives it through the `sdnctl` command line, and proves
 * the GRE mesh with pings. Then it puts a virtual router on one network, with source NAT
 * towards an emulated internet and a port forward, and proves both with web requests.
 * Everything it made is removed on exit, also on Ctrl-C / SIGTERM.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KvmLabHost, Lab, LabVm } from "../lab/index.js";
import { LabInternet } from "../vr-manager/router-lab.js";
import { Demo, json, missingPrograms, NEEDED, say, step, Stopped } from "./demo.js";
import { fetchPage, serveWeb } from "./web.js";

const CIDR = "192.168.50.0/24";
/** The emulated internet: a public range and its web server at the range's gateway. */
const PUBLIC_CIDR = "203.0.113.0/24";
const INTERNET_SERVER = "203.0.113.1";

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
