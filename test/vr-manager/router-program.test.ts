import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec, execQuiet, inNetns, Lab } from "../lab/index.js";
import { labNamespace, serveProbe } from "./router-lab.js";

/*
 * The router program on its own, run in a namespace the way sshd runs it: its answers and
 * exit statuses, generations, and that a failing apply leaves everything as it was.
 */

const PROGRAM = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../services/vr-manager/router/sdn-router");

let lab: Lab;
let ns: string;
let stateDir: string;

type Answer = Record<string, unknown> & { error?: { code: string; message: string } };

/** Runs the program; `conntrack` (a file) stands in for the router's /usr/sbin/conntrack. */
const run = async (argv: string[], input?: unknown, conntrack?: string) => {
  const program = ["env", `SDN_ROUTER_STATE_DIR=${stateDir}`, PROGRAM, ...argv];
  const r = await execQuiet(
    inNetns(
      ns,
      conntrack === undefined
        ? program
        : [
            "unshare",
            "--mount",
            "sh",
            "-c",
            `mount --bind '${conntrack}' /usr/sbin/conntrack && exec "$@"`,
            "-",
            ...program,
          ],
    ),
    input === undefined ? undefined : typeof input === "string" ? input : JSON.stringify(input),
  );
  return { code: r.code, answer: JSON.parse(r.stdout) as Answer };
};

/** Tracked connections in the router's namespace, "src>dst" of the original direction (loopback left out). */
const tracked = async () =>
  [
    ...(await exec(inNetns(ns, ["conntrack", "-L"])).catch(() => "")).matchAll(
      /src=(\S+) dst=(\S+) sport=\d+ dport=\d+ src=/g,
    ),
  ]
    .map((m) => `${m[1]}>${m[2]}`)
    .filter((flow) => !flow.startsWith("127."))
    .sort();

const track = (src: string, dst: string) =>
  exec(
    inNetns(ns, [
      "conntrack",
      "-I",
      "-s",
      src,
      "-d",
      dst,
      "-p",
      "tcp",
      "--sport",
      "40000",
      "--dport",
      "8080",
      "--state",
      "ESTABLISHED",
      "-u",
      "SEEN_REPLY",
      "-t",
      "600",
    ]),
  );

const config = (generation: number, extra: Record<string, unknown> = {}) => ({
  generation,
  public: { interface: "pub0", gateway: null, addresses: [{ ip: "203.0.113.10", prefixLength: 24 }] },
  networks: [
    {
      id: "net-a",
      cidr: "10.1.0.0/24",
      gateway: "10.1.0.1",
      interface: "g0",
      mac: null,
      sourceNatIp: "203.0.113.10",
      egress: { default: "allow", rules: [] },
    },
  ],
  portForwards: [
    {
      id: "pf-1",
      publicIp: "203.0.113.10",
      protocol: "tcp",
      publicStartPort: 8080,
      publicEndPort: 8080,
      privateIp: "10.1.0.5",
      privateStartPort: 80,
      privateEndPort: 80,
    },
  ],
  ...extra,
});

const tables = async () =>
  (await exec(inNetns(ns, ["iptables-save"]))).replace(/^#.*$/gm, "").replace(/\[[0-9]+:[0-9]+\]/g, "");
const addresses = async () => exec(["ip", "-n", ns, "-br", "-4", "addr"]);

beforeAll(async () => {
  lab = await Lab.create();
  ns = await labNamespace(lab, "prog");
  stateDir = join(lab.dir, "prog-state");
  mkdirSync(stateDir, { recursive: true });
  const peer = await labNamespace(lab, "peer");
  for (const [dev, other] of [
    ["pub0", "p0"],
    ["g0", "p1"],
  ] as const) {
    await exec(["ip", "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", other, "netns", peer]);
    await exec(["ip", "-n", ns, "link", "set", dev, "up"]);
  }
});

afterAll(async () => {
  await lab?.dispose();
});

describe("sdn-router", () => {
  it("answers its version and state, and refuses misuse with exit status 2", async () => {
    expect(await run(["version"])).toEqual({ code: 0, answer: { ok: true, result: { version: "1.6.0" } } });
    expect(await run(["state"])).toMatchObject({
      code: 0,
      answer: { ok: true, result: { generation: 0, hash: null } },
    });
    expect(await run(["reboot"])).toMatchObject({ code: 2, answer: { ok: false, error: { code: "USAGE" } } });
  });

  it("refuses a bad configuration before touching anything, naming the field", async () => {
    const before = await tables();
    const cases: [unknown, RegExp][] = [
      ["{not json", /not JSON/],
      [{ ...config(1), generation: 0 }, /generation/],
      [
        config(1, { staticNats: [{ publicIp: "203.0.113.99", privateIp: "10.1.0.5" }] }),
        /staticNats\[0\]\.publicIp .* not one of the public addresses/,
      ],
      [config(1, { interNetworkRoutes: [["net-a", "net-z"]] }), /net-z/],
      [config(1, { portForwards: [{ ...config(1).portForwards[0], privateEndPort: 81 }] }), /port ranges differ/],
      [
        config(1, { public: { interface: "nope0", addresses: [{ ip: "203.0.113.10", prefixLength: 24 }] } }),
        /public interface nope0 does not exist/,
      ],
    ];
    for (const [input, message] of cases) {
      const r = await run(["apply"], input);
      expect(r.code).toBe(1);
      expect(r.answer).toMatchObject({ ok: false, generation: 0 });
      expect(r.answer.error?.message).toMatch(message);
    }
    expect(await tables()).toBe(before);
  });

  it("applies a generation once, accepts it again unchanged, and refuses an older one", async () => {
    const first = await run(["apply"], config(5));
    expect(first).toMatchObject({ code: 0, answer: { ok: true, result: { generation: 5, changed: true } } });
    expect(await tables()).toContain("--to-destination 10.1.0.5:80");
    expect(await addresses()).toMatch(/pub0@\S+\s+\S+\s+203\.0\.113\.10\/24/);
    expect(await addresses()).toMatch(/g0@\S+\s+\S+\s+10\.1\.0\.1\/24/);
    // A retried push of the same generation: nothing to do.
    expect(await run(["apply"], config(5))).toMatchObject({ code: 0, answer: { result: { changed: false } } });
    // The same generation with other content, or an older one: refused, and it says what runs.
    const changed = config(5, { portForwards: [] });
    expect(await run(["apply"], changed)).toMatchObject({
      code: 1,
      answer: { ok: false, error: { code: "STALE_GENERATION" }, generation: 5 },
    });
    expect(await run(["apply"], config(4, { portForwards: [] }))).toMatchObject({ code: 1, answer: { generation: 5 } });
    expect(await tables()).toContain("--to-destination 10.1.0.5:80");
    expect(await run(["state"])).toMatchObject({ answer: { result: { generation: 5, summary: { portForwards: 1 } } } });
  });

  it("keeps the running configuration when haproxy cannot take the new one", async () => {
    const defaultRoute = () => exec(inNetns(ns, ["ip", "route", "show", "default"]));
    const before = { tables: await tables(), addresses: await addresses(), route: await defaultRoute() };
    await serveProbe(ns, 443, "squatter");
    const lb = {
      id: "lb-1",
      publicIp: "203.0.113.11",
      publicPort: 443,
      privatePort: 8443,
      algorithm: "source",
      members: ["10.1.0.5"],
    };
    const r = await run(
      ["apply"],
      config(6, {
        public: {
          interface: "pub0",
          // A new default route too: the failed apply must take it back.
          gateway: "203.0.113.1",
          addresses: [
            { ip: "203.0.113.10", prefixLength: 24 },
            { ip: "203.0.113.11", prefixLength: 24 },
          ],
        },
        loadBalancers: [lb],
        firewallRules: [{ id: "fw-1", publicIp: "203.0.113.11", protocol: "tcp", startPort: 443, endPort: 443 }],
      }),
    );
    expect(r).toMatchObject({
      code: 1,
      answer: { ok: false, error: { code: "HAPROXY_RELOAD_FAILED" }, generation: 5 },
    });
    // The tables, the addresses (203.0.113.11 was added, then removed), the default route and
    // the state are as before.
    expect(await tables()).toBe(before.tables);
    expect(await addresses()).toBe(before.addresses);
    expect(await defaultRoute()).toBe(before.route);
    expect(await run(["state"])).toMatchObject({ answer: { result: { generation: 5, haproxyRunning: false } } });

    // The same configuration on a free port is applied (and haproxy checked it first).
    const ok = await run(
      ["apply"],
      config(7, { loadBalancers: [{ ...lb, publicIp: "203.0.113.10", publicPort: 444 }] }),
    );
    expect(ok).toMatchObject({ code: 0, answer: { result: { generation: 7, summary: { loadBalancers: 1 } } } });
    expect(await run(["state"])).toMatchObject({ answer: { result: { haproxyRunning: true } } });
    // Taking the load balancer away stops haproxy.
    expect(await run(["apply"], config(8))).toMatchObject({ code: 0 });
    expect(await run(["state"])).toMatchObject({ answer: { result: { generation: 8, haproxyRunning: false } } });
  });

  it("cuts the tracked connections a change revokes, only those, and warns when it cannot", async () => {
    const inbound = "198.51.100.1>203.0.113.10"; // to the public IP
    const outbound = "10.1.0.5>198.51.100.1"; // from network net-a
    const elsewhere = "192.0.2.1>192.0.2.2"; // nothing the router's rules decide
    for (const flow of [inbound, outbound, elsewhere]) await track(...(flow.split(">") as [string, string]));
    expect(await tracked()).toEqual([inbound, outbound, elsewhere].sort());

    // The same generation again, then a new generation with the same rules: nothing is cut.
    expect((await run(["apply"], config(8))).answer).toMatchObject({ result: { changed: false } });
    expect((await run(["apply"], config(9))).answer).toMatchObject({ result: { changed: true, connectionsCut: 0 } });
    expect(await tracked()).toEqual([inbound, outbound, elsewhere].sort());

    // The port forward goes: what came in to its public IP is cut, the rest stays.
    const noForward = { portForwards: [] };
    const cut = await run(["apply"], config(10, noForward));
    expect(cut).toMatchObject({ code: 0, answer: { result: { connectionsCut: 1 } } });
    expect(cut.answer["result"]).not.toHaveProperty("warnings");
    expect(await tracked()).toEqual([outbound, elsewhere].sort());

    // A firewall change on that IP finds nothing left to cut (conntrack's exit 1 is fine).
    const firewall = { firewallRules: [{ id: "fw-1", publicIp: "203.0.113.10", protocol: "tcp", startPort: 22 }] };
    expect((await run(["apply"], config(11, { ...noForward, ...firewall }))).answer).toMatchObject({
      ok: true,
      result: { connectionsCut: 0 },
    });
    expect((await run(["state"])).answer).toMatchObject({ result: { warnings: [] } });

    // The network's egress turns to deny: its outbound connections are cut.
    const [network] = config(0).networks;
    const deny = { ...noForward, ...firewall, networks: [{ ...network, egress: { default: "deny", rules: [] } }] };
    // (haproxy's unanswered health checks from 10.1.0.1 of the test before are cut with it.)
    const denied = await run(["apply"], config(12, deny));
    expect((denied.answer["result"] as { connectionsCut: number }).connectionsCut).toBeGreaterThanOrEqual(1);
    expect(await tracked()).toEqual([elsewhere]);

    // Without a working conntrack the apply stands, and says what is missing or what failed.
    const notInstalled = join(lab.dir, "not-a-program");
    writeFileSync(notInstalled, "", { mode: 0o644 });
    const missing = await run(["apply"], config(13), notInstalled);
    expect(missing).toMatchObject({ code: 0, answer: { ok: true, result: { generation: 13, changed: true } } });
    expect((missing.answer["result"] as { warnings: string[] }).warnings).toEqual([
      expect.stringMatching(/conntrack is not installed on the router \(Debian package conntrack\)/),
    ]);
    expect((await run(["state"])).answer).toMatchObject({
      result: { generation: 13, warnings: [expect.stringMatching(/not installed/)] },
    });
    const failing = join(lab.dir, "failing-conntrack");
    writeFileSync(failing, "#!/bin/sh\necho 'conntrack: netlink refused' >&2\nexit 1\n", { mode: 0o755 });
    const failed = await run(["apply"], config(14, noForward), failing);
    expect(failed).toMatchObject({ code: 0, answer: { ok: true, result: { generation: 14 } } });
    expect((failed.answer["result"] as { warnings: string[] }).warnings).toEqual([
      expect.stringMatching(/conntrack -D --orig-dst 203\.0\.113\.10 exited with 1: conntrack: netlink refused/),
    ]);
    expect(await tables()).not.toContain("--to-destination 10.1.0.5:80");

    // A change that only grants (the forward back) cuts nothing: open flows keep their NAT.
    for (const flow of [inbound, outbound]) await track(...(flow.split(">") as [string, string]));
    const granted = await run(["apply"], config(15));
    expect(granted).toMatchObject({ code: 0, answer: { result: { changed: true, connectionsCut: 0 } } });
    expect(await tracked()).toEqual([inbound, outbound, elsewhere].sort());
  });
});
