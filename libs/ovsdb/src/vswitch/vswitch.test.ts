import { TestOvsdbServer, waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OvsdbClient } from "../client.js";
import type { RowChange } from "../table-cache.js";
import { VswitchPlanError } from "./plans.js";
import { tunnelPortName } from "./tags.js";
import { Vswitch } from "./vswitch.js";

let server: TestOvsdbServer;
let vs: Vswitch;

beforeAll(async () => {
  server = await TestOvsdbServer.start();
  server.vsctl("add-br", "br-phy", "--", "set", "Bridge", "br-phy", "datapath_type=netdev");
  vs = await Vswitch.open(await OvsdbClient.connect({ endpoint: { kind: "unix", path: server.socketPath } }));
});
afterAll(async () => {
  vs?.close();
  await server?.dispose();
});

const GRE_77 = { type: "gre", key: 77 } as const;
const remotes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ ip: `10.9.${i >> 8}.${i & 255}`, hostId: `h${i}` }));

describe("Vswitch over a real ovsdb-server", () => {
  it("creates a tagged bridge in the existing datapath, idempotently, and refuses conflicts", async () => {
    expect(await vs.setupBridge("br-n1", "n1")).toEqual({ bridge: "br-n1", created: true });
    expect(await vs.setupBridge("br-n1", "n1")).toEqual({ bridge: "br-n1", created: false });
    expect(server.vsctl("get", "Bridge", "br-n1", "datapath_type").trim()).toBe("netdev");
    expect(server.vsctl("br-get-external-id", "br-n1").trim().split("\n").sort()).toEqual([
      "sdn-managed=true",
      "sdn-network-id=n1",
      "sdn-role=network",
    ]);
    expect(server.vsctl("list-ports", "br-n1").trim()).toBe(""); // the internal port only
    await expect(vs.setupBridge("br-other", "n1")).rejects.toMatchObject({ hostError: "BRIDGE_CONFLICT" });
    await expect(vs.setupBridge("br-n1", "n2")).rejects.toBeInstanceOf(VswitchPlanError);
  });

  it("takes over an untagged bridge as newly set up, as XAPI's network.attach leaves one", async () => {
    server.vsctl("add-br", "xapi7", "--", "set", "Bridge", "xapi7", "datapath_type=netdev");
    await waitFor("the bridge in the cache", () => (vs.bridges().some((b) => b.name === "xapi7") ? true : undefined));
    expect(await vs.setupBridge("xapi7", "n7")).toEqual({ bridge: "xapi7", created: true });
    expect(await vs.setupBridge("xapi7", "n7")).toEqual({ bridge: "xapi7", created: false });
    expect(server.vsctl("br-get-external-id", "xapi7", "sdn-network-id").trim()).toBe("n7");
    expect(await vs.destroyBridge("n7")).toEqual({ bridge: "xapi7", destroyed: true });
  });

  it("applies a whole tunnel set in one transaction, then shrinks it and repairs drift", async () => {
    const first = await vs.applyTunnels("n1", GRE_77, remotes(100));
    expect(first.added).toHaveLength(100);
    const ports = server.vsctl("list-ports", "br-n1").trim().split("\n");
    expect(ports).toHaveLength(100);
    const name = tunnelPortName(77, "10.9.0.5");
    expect(
      server.vsctl("get", "Interface", name, "type", "options:remote_ip", "options:key").split("\n").slice(0, 3),
    ).toEqual(["gre", '"10.9.0.5"', '"77"']);
    expect(server.vsctl("get", "Port", name, "protected").trim()).toBe("true");
    expect(server.vsctl("get", "Interface", name, "bfd").trim()).toBe(
      '{check_tnl_key="false", enable="true", min_rx="1000", min_tx="100", mult="3"}',
    );

    // Drift made behind our back: a lost option, protected reset, a tag removed.
    server.vsctl("set", "Port", name, "protected=false", "--", "remove", "Interface", name, "options", "key");
    await waitFor("the drift in the cache", () =>
      vs.bridges("n1")[0]?.ports.find((p) => p.name === name)?.protected === false ? true : undefined,
    );
    const again = await vs.applyTunnels("n1", GRE_77, remotes(98));
    expect(again).toMatchObject({
      added: [],
      removed: [tunnelPortName(77, "10.9.0.98"), tunnelPortName(77, "10.9.0.99")].sort(),
    });
    expect(server.vsctl("get", "Port", name, "protected").trim()).toBe("true");
    expect(server.vsctl("get", "Interface", name, "options:key").trim()).toBe('"77"');
    expect(server.vsctl("list-ports", "br-n1").trim().split("\n")).toHaveLength(98);
  });

  it("re-states BFD with the given timers and reads the tunnels' bfd_status from its own monitor", async () => {
    const name = tunnelPortName(77, "10.9.0.1");
    server.vsctl("remove", "Interface", name, "bfd", "enable");
    await vs.applyTunnels("n1", GRE_77, remotes(98), { minRxMs: 300, minTxMs: 300, mult: 4 });
    expect(server.vsctl("get", "Interface", name, "bfd:enable", "bfd:min_rx", "bfd:mult").trim().split("\n")).toEqual([
      '"true"',
      '"300"',
      '"4"',
    ]);
    const initial = await vs.tunnelHealth();
    expect(initial).toHaveLength(98);
    expect(initial.find((t) => t.port === name)).toEqual({
      port: name,
      networkId: "n1",
      remoteIp: "10.9.0.1",
      bfdEnabled: true,
      bfdStatus: {},
    });
    // No ovs-vswitchd here: write the status it would, and see it arrive.
    server.vsctl("set", "Interface", name, "bfd_status:state=down", "bfd_status:forwarding=false");
    await waitFor("the status in the health monitor", async () =>
      (await vs.tunnelHealth()).find((t) => t.port === name)?.bfdStatus.state === "down" ? true : undefined,
    );
  });

  it("retries a plan whose snapshot another writer changed, never undoing that change", async () => {
    // A port added by someone else between our snapshot and our commit: the wait guard trips.
    const client = vs.client;
    const transact = client.transact.bind(client);
    let calls = 0;
    client.transact = async (db, ops, t) => {
      if (calls++ === 0) {
        server.vsctl("add-port", "br-n1", "foreign0");
      }
      return transact(db, ops, t);
    };
    try {
      await vs.applyTunnels("n1", GRE_77, remotes(3));
    } finally {
      client.transact = transact;
    }
    const ports = server.vsctl("list-ports", "br-n1").trim().split("\n");
    expect(calls).toBe(2); // the first commit was refused by the wait guard, the retry planned afresh
    expect(ports).toContain("foreign0");
    expect(ports).toHaveLength(4);
  });

  it("builds a VXLAN network's tunnels with its VNI beside a GRE network's to the same remotes", async () => {
    await vs.setupBridge("br-n2", "n2");
    const vxlan = await vs.applyTunnels("n2", { type: "vxlan", key: 77 }, remotes(3));
    const name = tunnelPortName(77, "10.9.0.1", "vxlan");
    // Same key and remote as n1's GRE tunnel, yet its own port.
    expect(name).not.toBe(tunnelPortName(77, "10.9.0.1"));
    expect(vxlan.added).toContain(name);
    expect(
      server.vsctl("get", "Interface", name, "type", "options:remote_ip", "options:key").split("\n").slice(0, 3),
    ).toEqual(["vxlan", '"10.9.0.1"', '"77"']);
    expect(server.vsctl("get", "Interface", name, "bfd:enable").trim()).toBe('"true"');
    expect(server.vsctl("list-ports", "br-n1").trim().split("\n")).toHaveLength(4); // n1's untouched
    expect((await vs.tunnelHealth()).filter((t) => t.networkId === "n2").map((t) => t.port)).toContain(name);
    await expect(vs.applyTunnels("n2", { type: "vxlan", key: 2 ** 24 }, [])).rejects.toMatchObject({
      hostError: "INVALID_ARGUMENT",
    });
    expect(await vs.destroyBridge("n2")).toEqual({ bridge: "br-n2", destroyed: true });
  });

  it("reports a deleted bridge the moment it happens, and destroys only ours", async () => {
    const seen: RowChange[] = [];
    const stop = vs.onChange((c) => seen.push(...c));
    server.vsctl("del-br", "br-n1");
    await waitFor(
      "the deletion",
      () => (seen.some((c) => c.table === "Bridge" && c.old?.name === "br-n1" && !c.new) ? true : undefined),
      2_000,
    );
    stop();
    expect(vs.bridges("n1")).toEqual([]);
    expect(await vs.destroyBridge("n1")).toEqual({ bridge: null, destroyed: false });
    await vs.setupBridge("br-n1", "n1");
    expect(await vs.destroyBridge("n1")).toEqual({ bridge: "br-n1", destroyed: true });
    expect(server.vsctl("list-br").trim().split("\n")).toEqual(["br-phy"]);
  });
});
