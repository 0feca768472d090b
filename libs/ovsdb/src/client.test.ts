import { TestOvsdbServer, waitFor } from "@sdn/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OvsdbClient } from "./client.js";
import { mapOf, namedUuid, ovsMap, ovsSet, uuid } from "./datum.js";
import { OvsdbServerError } from "./errors.js";
import type { Operation } from "./operations.js";
import type { RowChange } from "./table-cache.js";

const DB = "Open_vSwitch";
let server: TestOvsdbServer;
const clients: OvsdbClient[] = [];

const connect = async (kind: "unix" | "tcp" = "unix"): Promise<OvsdbClient> => {
  const c = await OvsdbClient.connect({
    endpoint: kind === "unix" ? { kind, path: server.socketPath } : { kind, host: "127.0.0.1", port: server.port },
    reconnect: { minMs: 50, maxMs: 400 },
  });
  clients.push(c);
  return c;
};

/** Ops that add bridge `name` with its internal port, as `ovs-vsctl add-br` does. */
const addBridgeOps = (name: string, tags: Record<string, string> = {}): Operation[] => [
  { op: "insert", table: "Interface", row: { name, type: "internal" }, "uuid-name": "i" },
  { op: "insert", table: "Port", row: { name, interfaces: namedUuid("i") }, "uuid-name": "p" },
  { op: "insert", table: "Bridge", row: { name, ports: namedUuid("p"), external_ids: ovsMap(tags) }, "uuid-name": "b" },
  { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "insert", ovsSet([namedUuid("b")])]] },
];

beforeAll(async () => {
  server = await TestOvsdbServer.start();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await server?.dispose();
});

describe("OvsdbClient against a real ovsdb-server", () => {
  it("lists databases and reads the schema over unix and TCP", async () => {
    for (const kind of ["unix", "tcp"] as const) {
      const c = await connect(kind);
      expect(await c.listDbs()).toContain(DB);
      const schema = await c.getSchema(DB);
      expect(schema.hasTable("Bridge")).toBe(true);
      expect(schema.isScalar("Bridge", "name")).toBe(true);
      expect(schema.isScalar("Bridge", "external_ids")).toBe(false);
    }
  });

  it("commits a transaction with named uuids that ovs-vsctl then sees", async () => {
    const c = await connect();
    const results = await c.transact(DB, [
      { op: "comment", comment: "test: add br-tx" },
      ...addBridgeOps("br-tx", { "sdn-managed": "true" }),
    ]);
    expect(results[3]?.uuid?.[0]).toBe("uuid");
    expect(server.vsctl("list-br").split("\n")).toContain("br-tx");
    expect(server.vsctl("br-get-external-id", "br-tx", "sdn-managed").trim()).toBe("true");

    const bridge = results[3]!.uuid![1];
    await c.transact(DB, [
      {
        op: "update",
        table: "Bridge",
        where: [["_uuid", "==", uuid(bridge)]],
        row: { external_ids: ovsMap({ a: "1" }) },
      },
    ]);
    const [sel] = await c.transact(DB, [
      { op: "select", table: "Bridge", where: [["name", "==", "br-tx"]], columns: ["external_ids"] },
    ]);
    expect(mapOf(sel!.rows![0]!.external_ids)).toEqual({ a: "1" });

    await c.transact(DB, [
      { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "delete", uuid(bridge)]] },
    ]);
    expect(server.vsctl("list-br")).not.toContain("br-tx");
  });

  it("fails a whole transaction with the server's error and the failing operation", async () => {
    const c = await connect();
    const err = await c
      .transact(DB, [
        ...addBridgeOps("br-half"),
        // `wait` for a row that is not there: the transaction, including the inserts, is void.
        {
          op: "wait",
          table: "Bridge",
          where: [["name", "==", "br-absent"]],
          columns: ["name"],
          until: "==",
          rows: [{ name: "br-absent" }],
          timeout: 0,
        },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbServerError);
    expect((err as OvsdbServerError).code).toBe("OVSDB_ERROR");
    expect((err as OvsdbServerError).error).toBe("timed out");
    expect((err as OvsdbServerError).operation).toBe(4);
    expect(server.vsctl("list-br")).not.toContain("br-half");

    const dup = await c
      .transact(DB, [{ op: "delete", table: "Bridge", where: [["name", "==", 3]] }])
      .catch((e: unknown) => e);
    expect((dup as OvsdbServerError).error).toMatch(/syntax error|constraint/);
  });

  it("a monitor sees what ovs-vsctl changes, with the whole row", async () => {
    const c = await connect();
    const m = await c.monitor(DB, { Bridge: ["name", "external_ids", "ports"], Port: ["name", "external_ids"] });
    const seen: RowChange[] = [];
    m.on("change", (changes) => seen.push(...changes));

    server.vsctl("add-br", "br-mon", "--", "br-set-external-id", "br-mon", "sdn-network-id", "n1");
    const added = await waitFor("the new bridge in the cache", () =>
      [...m.rows("Bridge").values()].find((r) => r.name === "br-mon"),
    );
    expect(mapOf(added.external_ids)).toEqual({ "sdn-network-id": "n1" });

    // update2 sends map diffs: a changed key, an added key, a removed key.
    server.vsctl(
      "br-set-external-id",
      "br-mon",
      "sdn-network-id",
      "n2",
      "--",
      "br-set-external-id",
      "br-mon",
      "x",
      "y",
    );
    await waitFor("the modified map", () => {
      const r = [...m.rows("Bridge").values()].find((b) => b.name === "br-mon");
      return JSON.stringify(mapOf(r?.external_ids)) === JSON.stringify({ "sdn-network-id": "n2", x: "y" }) || undefined;
    });
    server.vsctl("remove", "Bridge", "br-mon", "external_ids", "x");
    await waitFor("the removed key", () => {
      const r = [...m.rows("Bridge").values()].find((b) => b.name === "br-mon");
      return JSON.stringify(mapOf(r?.external_ids)) === JSON.stringify({ "sdn-network-id": "n2" }) || undefined;
    });

    server.vsctl("del-br", "br-mon");
    await waitFor("the bridge gone", () =>
      [...m.rows("Bridge").values()].some((r) => r.name === "br-mon") ? undefined : true,
    );
    expect(seen.some((ch) => ch.table === "Bridge" && ch.old?.name === "br-mon" && ch.new === undefined)).toBe(true);
    expect(seen.some((ch) => ch.table === "Port" && ch.old?.name === "br-mon" && ch.new === undefined)).toBe(true);
  });

  it("reconnects after a server restart, re-issues the monitor and reports what changed meanwhile", async () => {
    const c = await connect();
    server.vsctl("add-br", "br-keep", "--", "add-br", "br-gone");
    const m = await c.monitor(DB, { Bridge: ["name"] });
    const seen: RowChange[] = [];
    m.on("change", (changes) => seen.push(...changes));
    let disconnects = 0;
    c.on("disconnected", () => disconnects++);

    await server.stop();
    await waitFor("the client to notice", () => (c.connected ? undefined : true));
    expect((await c.listDbs().catch((e: { code: string }) => e)) as { code: string }).toMatchObject({ code: "CLOSED" });
    await server.restart();
    server.vsctl("del-br", "br-gone", "--", "add-br", "br-new");
    await waitFor("the client back", () => (c.connected ? true : undefined), 5_000);

    const names = await waitFor("both changes", () => {
      const n = [...m.rows("Bridge").values()].map((r) => r.name);
      return n.includes("br-new") && !n.includes("br-gone") ? n : undefined;
    });
    expect(names).toContain("br-keep");
    expect(disconnects).toBe(1);
    expect(seen.some((ch) => ch.old?.name === "br-gone" && ch.new === undefined)).toBe(true);
    expect(await c.listDbs()).toContain(DB);
    server.vsctl("del-br", "br-keep", "--", "del-br", "br-new");
  });
});
