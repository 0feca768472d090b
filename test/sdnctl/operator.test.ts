/**
 * sdnctl's operator habits against the real gateway, network-guru and ovs-element:
 * names where ids are asked, -f/-c output formats, shell completion and the topology tree.
 */
import { connect } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { vrManagerSpec } from "@sdn/vr-manager";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpGateway, type HttpGateway } from "../foundation/http-gateway.js";
import { sdnctl } from "./cli-runner.js";

let gw: HttpGateway;
let env: Record<string, string>;

beforeAll(async () => {
  gw = await startHttpGateway((nats) => [
    [networkGuruSpec],
    [ovsElementSpec],
    [hypervisorAgentSpec, { SDN_DATA_DIR: nats.storeDir }],
    [vrManagerSpec, { SDN_DATA_DIR: nats.storeDir }],
  ]);
  env = { SDN_URL: gw.baseUrl, SDN_TOKEN: gw.adminToken, HOME: "/nonexistent" };
});

afterAll(async () => {
  await gw?.stop();
});

const account = async (name: string) =>
  (
    JSON.parse((await sdnctl(["accounts", "create", name, "-f", "json"], { env })).stdout) as {
      account: { id: string };
    }
  ).account.id;

const network = async (name: string, cidr: string, accountId: string) =>
  (
    JSON.parse(
      (await sdnctl(["networks", "create", name, "--cidr", cidr, "--account", accountId, "--json"], { env })).stdout,
    ) as { id: string }
  ).id;

describe("names where ids are asked", () => {
  it("takes a unique name, lists the matches of an ambiguous one (exit 2), and says when none matches (exit 3)", async () => {
    const [a, b] = [await account("acme"), await account("globex")];
    const webA = await network("web", "10.61.0.0/24", a);
    const webB = await network("web", "10.61.0.0/24", b);
    const db = await network("db", "10.62.0.0/24", a);

    expect(await sdnctl(["networks", "get", "db", "-f", "value", "-c", "id"], { env })).toMatchObject({
      code: 0,
      stdout: `${db}\n`,
    });
    const ambiguous = await sdnctl(["networks", "get", "web"], { env });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain("2 networks are named 'web'; give the id of one of them");
    expect(ambiguous.stderr).toContain(`${webA}  web  (account ${a})`);
    expect(ambiguous.stderr).toContain(`${webB}  web  (account ${b})`);
    expect(await sdnctl(["tunnels", "list", "nowhere"], { env })).toMatchObject({
      code: 3,
      stderr: "error: no network has the id or name 'nowhere'\n",
    });
    expect(await sdnctl(["accounts", "get", "globex", "-f", "value", "-c", "id"], { env })).toMatchObject({
      code: 0,
      stdout: `${b}\n`,
    });
  });
});

describe("output formats", () => {
  it("prints YAML a YAML parser reads as the API's JSON, and values of the chosen columns", async () => {
    const json = JSON.parse((await sdnctl(["networks", "get", "db", "--json"], { env })).stdout) as unknown;
    const yaml = await sdnctl(["networks", "get", "db", "-f", "yaml"], { env });
    const parsed = spawnSync(
      "python3",
      ["-c", "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin.read()), sys.stdout)"],
      { input: yaml.stdout, encoding: "utf8" },
    );
    expect(parsed.stderr).toBe("");
    expect(JSON.parse(parsed.stdout)).toEqual(json);
    const values = await sdnctl(["networks", "list", "-f", "value", "-c", "name", "-c", "cidr"], { env });
    expect(
      values.stdout
        .split("\n")
        .filter((l) => l !== "")
        .sort(),
    ).toEqual(["db 10.62.0.0/24", "web 10.61.0.0/24", "web 10.61.0.0/24"].sort());
    expect(await sdnctl(["networks", "list", "-c", "colour"], { env })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("no column 'colour'; the columns are: ID, NAME"),
    });
    expect(await sdnctl(["networks", "list", "-f", "xml"], { env })).toMatchObject({ code: 2 });
  });
});

describe("completion and topology", () => {
  it("completes commands and subcommands in bash", async () => {
    const script = (await sdnctl(["completion", "bash"], { env })).stdout;
    const complete = (...words: string[]) =>
      spawnSync(
        "bash",
        [
          "-c",
          `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _sdnctl; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: "utf8" },
      ).stdout.trim();
    expect(complete("sdnctl", "netw")).toBe("networks");
    expect(complete("sdnctl", "networks", "g")).toBe("get");
    expect(complete("sdnctl", "-f", "json", "tunnels", "").split(" ")).toEqual(
      expect.arrayContaining(["list", "--format"]),
    );
    expect(complete("sdnctl", "tunnels", "")).toContain("list");
    const zsh = (await sdnctl(["completion", "zsh"], { env })).stdout;
    expect(zsh.startsWith("#compdef sdnctl\n")).toBe(true);
  });

  it("prints a network as a tree with its hosts' tunnels and their states", async () => {
    const id = (JSON.parse((await sdnctl(["networks", "get", "db", "--json"], { env })).stdout) as { id: string }).id;
    const [h1, h2] = [randomUUID(), randomUUID()].sort() as [string, string];
    const nc = await connect({ servers: gw.nats.url });
    try {
      const sets = await JsonBucket.open<object>(nc, "sdn_element_tunnels");
      for (const [from, to, ip, state] of [
        [h1, h2, "10.201.0.2", "Established"],
        [h2, h1, "10.201.0.1", "Failed"],
      ] as const) {
        const set = { networkId: id, from, key: 77, state, rows: [{ to, remoteIp: ip, port: null }] };
        const rest = { lastError: null, attempts: 0, nextRetryAt: null, updatedAt: new Date().toISOString() };
        await sets.kv.put(`${id}.${from}`, JSON.stringify({ ...set, ...rest }));
      }
      // BFD said the path from h1 is down (as the element records an agent's report).
      const health = await JsonBucket.open<object>(nc, "sdn_element_tunnel_health");
      const at = new Date().toISOString();
      const record = { networkId: id, from: h1, to: h2, remoteIp: "10.201.0.2", port: null, health: "down" };
      await health.kv.put(
        `${id}.${h1}.${h2}`,
        JSON.stringify({ ...record, diagnostic: null, changedAt: at, observedAt: at }),
      );
    } finally {
      await nc.close();
    }
    // The API's word for each direction's state, as `tunnels list` gives it.
    const listed = JSON.parse((await sdnctl(["tunnels", "list", "db", "--json"], { env })).stdout) as {
      tunnels: { from: string; state: string; health: string }[];
    };
    const state = (from: string) => listed.tunnels.find((t) => t.from === from)?.state;
    expect(state(h1)).toBeDefined();
    expect(listed.tunnels.map((t) => [t.from, t.health])).toEqual([
      [h1, "down"],
      [h2, "unknown"],
    ]);
    const table = (await sdnctl(["tunnels", "list", "db"], { env })).stdout.split("\n");
    expect(table[0]).toMatch(/ STATE +HEALTH +SINCE /);
    expect(table.find((l) => l.startsWith(h1))).toMatch(/ down +\d{4}-/);
    const tree = await sdnctl(["topology", "db"], { env });
    expect(tree.code).toBe(0);
    expect(tree.stdout).toBe(
      [
        `network db (${id})`,
        "    cidr 10.62.0.0/24  gateway 10.62.0.1  gre key -  state Allocated",
        `    host ${h1}`,
        `        tunnel to ${h2}  remote 10.201.0.2  ${state(h1)}`,
        `    host ${h2}`,
        `        tunnel to ${h1}  remote 10.201.0.1  ${state(h2)}`,
        "",
      ].join("\n"),
    );
    const doc = JSON.parse((await sdnctl(["topology", "db", "--json"], { env })).stdout) as {
      networks: { network: { id: string }; tunnels: unknown[] }[];
    };
    expect(doc.networks.map((n) => [n.network.id, n.tunnels.length])).toEqual([[id, 2]]);
  });
});
