/**
 * `sdnctl audit list` against a gateway (its test harness on a real nats-server) and a
 * command server recording what it runs: the audit trail as an operator reads it.
 */
import { commandRoute, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { bindHandler, CommandServer, silentLogger } from "@sdn/bus";
import { CommandError, defineCommand } from "@sdn/contracts";
import type { AddressInfo } from "node:net";
import Type from "@sdn/typebox";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sdnctl } from "./cli-runner.js";

const RenameWidget = defineCommand({
  service: "vr-manager",
  name: "TestRenameWidget",
  delivery: "durable",
  summary: "test: renames a widget",
  request: Type.Object({ widgetId: Type.String(), name: Type.String() }, { additionalProperties: false }),
  response: Type.Object({ id: Type.String() }, { additionalProperties: false }),
});

let h: Harness;
let server: CommandServer;
let env: Record<string, string>;
let tenant: { accountId: string; token: string };

beforeAll(async () => {
  h = await startHarness();
  commandRoute(h.app, {
    method: "POST",
    url: "/v1/widgets/:id/rename",
    command: RenameWidget,
    kind: "mutation",
    tags: ["Test"],
    summary: "rename a widget",
    params: Type.Object({ id: Type.String() }),
    body: Type.Object({ name: Type.String() }, { additionalProperties: false }),
    toCommand: ({ params, body }) => ({ widgetId: params.id, name: body.name }),
  });
  server = new CommandServer(h.nc, {
    service: "vr-manager",
    logger: silentLogger,
    handlers: [
      bindHandler(RenameWidget, async (req) => {
        if (req.name === "taken") throw new CommandError("CONFLICT", "that name is taken");
        return { data: { id: req.widgetId }, details: "renamed" };
      }),
    ],
  });
  await server.start();
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = h.app.server.address() as AddressInfo;
  env = { SDN_URL: `http://127.0.0.1:${port}`, SDN_TOKEN: h.adminToken, HOME: "/nonexistent" };
  tenant = await h.tenant("audited");
  for (const [id, name] of [
    ["w-1", "blue"],
    ["w-2", "taken"],
  ]) {
    await h.app.inject({
      method: "POST",
      url: `/v1/widgets/${id}/rename`,
      headers: { authorization: `Bearer ${tenant.token}` },
      payload: { name },
    });
  }
  await waitFor("two records", async () => {
    const res = await sdnctl(["audit", "list", "--command", "TestRenameWidget", "-f", "json"], { env });
    return (JSON.parse(res.stdout) as { items: unknown[] }).items.length === 2 ? true : undefined;
  });
});

afterAll(async () => {
  await server?.stop();
  await h?.close();
});

describe("sdnctl audit list", () => {
  it("prints who changed what and the outcome", async () => {
    const res = await sdnctl(
      [
        "audit",
        "list",
        "--command",
        "TestRenameWidget",
        "-c",
        "COMMAND",
        "-c",
        "RESOURCES",
        "-c",
        "OUTCOME",
        "-f",
        "value",
      ],
      { env },
    );
    expect(res).toMatchObject({ code: 0, stderr: "" });
    expect(res.stdout.trim().split("\n")).toEqual([
      "TestRenameWidget widgetId=w-1 name=blue id=w-1 ok",
      "TestRenameWidget widgetId=w-2 name=taken CONFLICT",
    ]);
  });

  it("pages with --limit and --cursor, and shows a tenant its own records only", async () => {
    const widgets = ["audit", "list", "--command", "TestRenameWidget"];
    const first = await sdnctl([...widgets, "--limit", "1", "-f", "json"], { env });
    const page = JSON.parse(first.stdout) as { items: { resources: { widgetId: string } }[]; nextCursor: string };
    expect(page.items.map((r) => r.resources.widgetId)).toEqual(["w-1"]);
    const second = await sdnctl([...widgets, "--limit", "1", "--cursor", page.nextCursor, "-f", "json"], { env });
    expect((JSON.parse(second.stdout) as { items: { resources: { widgetId: string } }[] }).items[0]?.resources).toEqual(
      expect.objectContaining({ widgetId: "w-2" }),
    );
    const other = await h.tenant("someone-else");
    const theirs = await sdnctl(["audit", "list", "-f", "json"], { env: { ...env, SDN_TOKEN: other.token } });
    // Only the gateway's record of its account's creation.
    const own = (JSON.parse(theirs.stdout) as { items: { command: string; accountId: string }[] }).items;
    expect(own.map((r) => [r.command, r.accountId])).toEqual([["CreateAccount", other.accountId]]);
    const refused = await sdnctl(["audit", "list", "--account", tenant.accountId], {
      env: { ...env, SDN_TOKEN: other.token },
    });
    expect(refused).toMatchObject({ code: 3, stderr: expect.stringMatching(/^FORBIDDEN/) });
  });
});
