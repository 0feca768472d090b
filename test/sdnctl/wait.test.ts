/**
 * `--wait` and `jobs wait` on real async jobs. The gateway on main has no mutating command
 * route yet, so this test adds one the way every resource route will be added (the
 * gateway's own `commandRoute`, through its test harness on a real nats-server) for a
 * test command whose handler takes as long as asked. The CLI side is a command module
 * like the ones in apps/sdnctl/src/commands, registered next to the real ones.
 */
import { commandRoute, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { bindHandler, CommandServer, EventPublisher, silentLogger } from "@sdn/bus";
import { CommandError, defineCommand, defineEvent } from "@sdn/contracts";
import { COMMAND_MODULES, runMutation, withMutationOptions, type CommandModule } from "@sdn/sdnctl";
import type { AddressInfo } from "node:net";
import Type from "@sdn/typebox";
import { freePort } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sdnctl } from "./cli-runner.js";

const Widget = Type.Object({ id: Type.String(), name: Type.String() }, { additionalProperties: false });
const MakeWidget = defineCommand({
  service: "vr-manager",
  name: "TestMakeWidget",
  delivery: "durable",
  summary: "test: makes a widget after delayMs",
  request: Type.Object({ name: Type.String(), delayMs: Type.Integer() }, { additionalProperties: false }),
  response: Widget,
});

const WidgetStarted = defineEvent({
  service: "vr-manager",
  name: "TestWidgetStarted",
  summary: "test: a widget is being made",
  data: Type.Object({ name: Type.String() }),
});

/** `sdnctl widgets create <name> --delay-ms N`: a mutating command as a resource module writes one. */
const widgetsCommands: CommandModule = (program, deps) => {
  const widgets = program.command("widgets").description("test widgets");
  withMutationOptions(
    widgets.command("create").argument("<name>").requiredOption("--delay-ms <ms>", "how long the service takes"),
  ).action(async (name, opts, cmd) => {
    const s = await deps.session(cmd);
    await runMutation<{ id: string; name: string }>(
      s,
      { method: "POST", path: "/v1/widgets", body: { name, delayMs: Number(opts.delayMs) } },
      opts,
      (w) =>
        s.out.record([
          ["id", w.id],
          ["name", w.name],
        ]),
    );
  });
};
const modules = [...COMMAND_MODULES, widgetsCommands];

let h: Harness;
let server: CommandServer;
let env: Record<string, string>;
const runs: string[] = [];
/** How often each job was read: shows whether the event stream or polling ended a wait. */
const jobReads = new Map<string, number>();

beforeAll(async () => {
  // Calls answered within 300 ms answer 201; slower ones answer 202 with a job.
  h = await startHarness({ commandWaitMs: 300 });
  commandRoute(h.app, {
    method: "POST",
    url: "/v1/widgets",
    command: MakeWidget,
    kind: "mutation",
    successStatus: 201,
    tags: ["Test"],
    summary: "make a widget",
    body: Type.Object({ name: Type.String(), delayMs: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
    toCommand: ({ body }) => body,
  });
  h.app.addHook("onRequest", async (req) => {
    const id = /^\/v1\/jobs\/([^/?]+)/.exec(req.url)?.[1];
    if (id !== undefined) jobReads.set(id, (jobReads.get(id) ?? 0) + 1);
  });
  const events = new EventPublisher(h.nc);
  server = new CommandServer(h.nc, {
    service: "vr-manager",
    logger: silentLogger,
    handlers: [
      bindHandler(MakeWidget, async (req, ctx) => {
        runs.push(req.name);
        await events.publish(WidgetStarted, { name: req.name }, { commandId: ctx.commandId, accountId: "admin" });
        await new Promise((r) => setTimeout(r, req.delayMs));
        if (req.name === "taken") throw new CommandError("CONFLICT", "a widget named taken exists");
        return { data: { id: `w-${runs.length}`, name: req.name }, details: `made ${req.name}` };
      }),
    ],
  });
  await server.start();
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = h.app.server.address() as AddressInfo;
  env = { SDN_URL: `http://127.0.0.1:${port}`, SDN_TOKEN: h.adminToken, HOME: "/nonexistent" };
});

afterAll(async () => {
  await server?.stop();
  await h?.close();
});

const cli = (args: string[]) => sdnctl(args, { env, modules });

describe("a mutation answered at once", () => {
  it("prints the resource, with no job", async () => {
    const res = await cli(["widgets", "create", "quick", "--delay-ms", "0", "--wait"]);
    expect(res).toMatchObject({ code: 0, stdout: expect.stringMatching(/^id {4}w-\d+\nname {2}quick\n$/) });
    expect(res.stderr).toBe("");
  });
});

describe("a mutation that fails before any job exists", () => {
  it("with a bad token says only that (exit 3)", async () => {
    const res = await sdnctl(["widgets", "create", "x", "--delay-ms", "0", "--wait"], {
      env: { ...env, SDN_TOKEN: "sdn_bad" },
      modules,
    });
    expect(res).toEqual({ code: 3, stdout: "", stderr: "UNAUTHORIZED: the token is not valid: unknown or revoked\n" });
  });

  it("retries a dropped connection with the same key, then says how to retry safely (exit 4)", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = await sdnctl(["widgets", "create", "x", "--delay-ms", "0", "--idempotency-key", "k-1"], {
      env: { ...env, SDN_URL: url },
      modules,
    });
    expect(res.code).toBe(4);
    expect(res.stderr.trimEnd().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^cannot reach the API at ${url}/v1/widgets: .*; retrying in 0.25 s$`)),
      expect.stringMatching(/; retrying in 1 s$/),
      expect.stringMatching(new RegExp(`^error: cannot reach the API at ${url}/v1/widgets: connect ECONNREFUSED`)),
      "  to retry safely, run the same command with --idempotency-key k-1",
    ]);
  });
});

describe("--wait on a slow job", () => {
  it("follows the job through the event stream and prints its result", async () => {
    const res = await cli(["widgets", "create", "slow", "--delay-ms", "1500", "--wait"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^id {4}w-\d+\nname {2}slow\n$/);
    const [waiting, event, done] = res.stderr.trimEnd().split("\n");
    const jobId = /^waiting for job ([0-9a-f-]{36})\.\.\.$/.exec(waiting ?? "")?.[1] ?? "";
    // The service's event, caused by this command, shown as progress.
    expect(event).toBe("  TestWidgetStarted");
    const seconds = Number(new RegExp(`^job ${jobId} succeeded after (\\d+\\.\\d) s$`).exec(done ?? "")?.[1]);
    // Woken by the answer event: read once on connecting and once after the event, and
    // done before the first fallback poll (every 5 s while the stream is up) was due.
    expect(jobReads.get(jobId)).toBe(2);
    expect(seconds).toBeLessThan(5);
  });

  it("prints exactly the job's result with --json", async () => {
    const res = await cli(["widgets", "create", "json", "--delay-ms", "800", "--wait", "--json"]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ id: expect.stringMatching(/^w-\d+$/), name: "json" });
  });

  it("exits with the class of the job's error when it fails (CONFLICT: 3)", async () => {
    const res = await cli(["widgets", "create", "taken", "--delay-ms", "800", "--wait"]);
    expect(res.code).toBe(3);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(/job \S+ failed after .*\nCONFLICT: a widget named taken exists\n$/);
  });

  it("gives up after --timeout with exit 5, saying how to follow the job", async () => {
    const res = await cli(["widgets", "create", "slower", "--delay-ms", "4000", "--wait", "--timeout", "1"]);
    expect(res.code).toBe(5);
    const jobId = /job (\S+) is still pending after 1 s/.exec(res.stderr)?.[1];
    expect(jobId).toBeDefined();
    expect(res.stderr).toContain(`follow it with: sdnctl jobs wait ${jobId}`);
    const done = await cli(["jobs", "wait", jobId ?? "", "--json"]);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ id: jobId, status: "succeeded", result: { name: "slower" } });
  });
});

describe("a job without --wait", () => {
  it("prints the job; jobs get and jobs wait (events, or --no-events polling) follow it", async () => {
    const accepted = await cli(["widgets", "create", "later", "--delay-ms", "1500"]);
    expect(accepted.code).toBe(0);
    const jobId = /^job {5}(\S+)\nstatus {2}pending\n$/.exec(accepted.stdout)?.[1] ?? "";
    expect(accepted.stderr).toBe(`still running; follow it with: sdnctl jobs wait ${jobId}\n`);

    const pending = await cli(["jobs", "get", jobId]);
    expect(pending.stdout).toMatch(
      new RegExp(`^id {7}${jobId}\ncommand {2}vr-manager.TestMakeWidget\nstatus {3}pending\n`),
    );

    const polled = await cli(["jobs", "wait", jobId, "--no-events"]);
    expect(polled.code).toBe(0);
    expect(polled.stderr).toContain(`waiting for job ${jobId} (polling)...`);
    expect(polled.stdout).toMatch(/^status +succeeded$/m);
    expect(polled.stdout).toMatch(/^result +\{"id":"w-\d+","name":"later"\}$/m);

    const json = await cli(["jobs", "get", jobId, "--json"]);
    const api = await (
      await fetch(`${env.SDN_URL}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${h.adminToken}` } })
    ).json();
    expect(JSON.parse(json.stdout)).toEqual(api);
  });

  it("a failed job makes jobs wait exit with its error after printing it", async () => {
    const accepted = await cli(["widgets", "create", "taken", "--delay-ms", "700", "--json"]);
    const { jobId } = JSON.parse(accepted.stdout) as { jobId: string };
    const res = await cli(["jobs", "wait", jobId]);
    expect(res.code).toBe(3);
    expect(res.stdout).toMatch(/^status +failed$/m);
    expect(res.stdout).toMatch(/^error +CONFLICT: a widget named taken exists$/m);
    expect(res.stderr).toMatch(/\nCONFLICT: a widget named taken exists\n$/);
  });

  it("sends the same Idempotency-Key on a retry: the same job, the command run once", async () => {
    const key = `retry-${Date.now()}`;
    const before = runs.length;
    const first = await cli(["widgets", "create", "once", "--delay-ms", "1500", "--idempotency-key", key, "--json"]);
    const second = await cli(["widgets", "create", "once", "--delay-ms", "1500", "--idempotency-key", key, "--json"]);
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
    const { jobId } = JSON.parse(first.stdout) as { jobId: string };
    expect((await cli(["jobs", "wait", jobId])).code).toBe(0);
    expect(runs.slice(before)).toEqual(["once"]);
  });
});
