import { bearer, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { CommandClient } from "@sdn/bus";
import { CheckHealth, type Host, type Network, type Nic } from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { waitFor } from "@sdn/testkit";
import { vrManagerSpec } from "@sdn/vr-manager";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plugRequestFor, simulatedHostRequests } from "../hypervisor-agent/simulated-hosts.js";

/*
 * The web view (/ui/) in headless Chromium (Debian's, driven by playwright-core) against a
 * listening gateway, the guru, the element, the vr-manager and a simulated hypervisor-agent
 * on a real nats-server: the page renders after login, a NIC plugged through the API appears
 * without a reload (the event stream), another tenant's token shows nothing of the first, and
 * a hostile value renders as text under the page's CSP. No root, no lab.
 */

const CHROMIUM = process.env["SDN_CHROMIUM"] ?? "/usr/bin/chromium";
const HOSTILE = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`;

let gateway: Harness;
let base: string;
let dataDir: string;
let browser: Browser;
const services: RunningService<never>[] = [];
const hosts: Host[] = [];
let acme: { accountId: string; token: string };
let globex: { accountId: string; token: string };
let network: Network;
let firstNic: Nic;

const http = async (method: "GET" | "POST", url: string, token: string, payload?: object) =>
  gateway.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload }) });

const plug = async (host: Host): Promise<Nic> => {
  const res = await http("POST", `/v1/networks/${network.id}/nics`, acme.token, await plugRequestFor(gateway.nc, host));
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Nic>();
};

/** A fresh browser context (its own sessionStorage), logged in with the token, loaded and live. */
const openView = async (token: string): Promise<Page> => {
  const page = await (await browser.newContext()).newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  // Chromium logs every refused request; a tenant's 403 on the admin listings is expected.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
  });
  page.on("response", (r) => {
    if (r.status() === 401 || r.status() === 404 || r.status() >= 500) problems.push(`${r.status()} ${r.url()}`);
  });
  // The token must travel only in the header, never in a URL.
  page.on("request", (r) => {
    if (r.url().includes(token)) problems.push(`token in a URL: ${r.url()}`);
  });
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(`${base}/ui/`);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForSelector("#view[data-loaded-at]");
  await page.waitForFunction(`document.getElementById("status").textContent === "Live"`);
  return page;
};
const problemsOf = (page: Page) => (page as Page & { problems: string[] }).problems;
const rowKeys = async (page: Page, table: string) => {
  const rows = page.locator(`[data-table=${table}] tbody tr`);
  return Promise.all((await rows.all()).map((r) => r.getAttribute("data-key")));
};

beforeAll(async () => {
  gateway = await startHarness({ commandWaitMs: 60_000 });
  base = await gateway.app.listen({ host: "127.0.0.1", port: 0 });
  dataDir = mkdtempSync(join(tmpdir(), "sdn-web-ui-"));
  const env = { NATS_URL: gateway.nats.url, LOG_LEVEL: "silent", SDN_DATA_DIR: dataDir };
  const start = async (spec: Parameters<typeof startService>[0], extra: Record<string, string> = {}) =>
    services.push((await startService(spec, { ...env, ...extra })) as unknown as RunningService<never>);
  await start(networkGuruSpec);
  await start(hypervisorAgentSpec, { SDN_AGENT_SIMULATOR: "true", SDN_HOST_CHECK_INTERVAL_MS: "1000" });
  await start(ovsElementSpec, { SDN_AGENT_TIMEOUT_MS: "10000", SDN_TUNNEL_RETRY_MIN_MS: "200" });
  await start(vrManagerSpec, { SDN_SECRET_KEY: Buffer.alloc(32, 7).toString("base64") });
  const client = new CommandClient(gateway.nc);
  await waitFor(
    "the services",
    async () => {
      for (const s of ["network-guru", "hypervisor-agent", "ovs-element", "vr-manager"] as const) {
        if (!(await client.send(CheckHealth[s], {}, { timeoutMs: 2000 })).ok) return undefined;
      }
      return true;
    },
    30_000,
  );
  for (const body of simulatedHostRequests("ui", "10.98.0")) {
    const res = await http("POST", "/v1/hosts", gateway.adminToken, body);
    expect(res.statusCode, res.body).toBe(201);
    hosts.push(res.json<Host>());
  }
  acme = await gateway.tenant("acme");
  globex = await gateway.tenant("globex");
  const created = await http("POST", "/v1/networks", acme.token, {
    name: "web",
    cidr: "10.41.0.0/24",
    description: HOSTILE,
  });
  expect(created.statusCode, created.body).toBe(201);
  network = created.json<Network>();
  firstNic = await plug(hosts[0] as Host);
  browser = await chromium.launch({ executablePath: CHROMIUM });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const s of [...services].reverse()) await s.stop().catch(() => undefined);
  await gateway?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("the web view in Chromium", () => {
  it("renders the admin's hosts with state and platform, and the topology", async () => {
    const page = await openView(gateway.adminToken);
    expect(await rowKeys(page, "hosts")).toEqual(expect.arrayContaining(hosts.map((h) => h.id)));
    const xen = page.locator(`[data-table=hosts] tr[data-key="${hosts[0]?.id}"]`);
    await expect.poll(() => xen.textContent()).toContain("Up");
    expect(await xen.textContent()).toContain("Simulated XenServer");
    expect(await page.locator("#topology svg g[data-host]").count()).toBe(3);
    expect(await page.locator(`#topology svg g[data-network="${network.id}"]`).count()).toBe(1);
    // Routers are listed for admins (none registered here), not refused.
    expect(await page.locator("[data-table=routers]").textContent()).toBe("None.");
    expect(problemsOf(page)).toEqual([]);
    await page.context().close();
  });

  it("shows a NIC plugged through the API without a reload, with the tunnels it brings", async () => {
    const page = await openView(acme.token);
    expect(await rowKeys(page, "nics")).toEqual([firstNic.id]);
    expect(await rowKeys(page, "tunnels")).toEqual([]);
    // A marker that a navigation or reload would lose.
    await page.evaluate("window.sameDocument = true");

    const second = await plug(hosts[1] as Host);
    await page.waitForSelector(`[data-table=nics] tr[data-key="${second.id}"]`, { timeout: 20_000 });
    // The two hosts' tunnels follow as the element establishes them.
    await expect
      .poll(() => page.locator("[data-table=tunnels] tbody tr").allTextContents(), { timeout: 20_000 })
      .toEqual([expect.stringContaining("Established"), expect.stringContaining("Established")]);
    expect(await page.evaluate("window.sameDocument")).toBe(true);
    expect(await page.locator(`#topology svg g[data-host]`).count()).toBe(2);
    expect(await page.locator("#topology svg line.tunnel").count()).toBe(1);
    // A tenant sees hosts by id only, and no routers.
    expect(await page.locator("#routers").textContent()).toContain("managed by admins");
    expect(problemsOf(page)).toEqual([]);
    await page.context().close();
  });

  it("shows another tenant nothing of the first", async () => {
    const page = await openView(globex.token);
    for (const t of ["hosts", "networks", "tunnels", "nics"]) {
      expect(await page.locator(`[data-table=${t}]`).textContent()).toBe("None.");
    }
    const text = (await page.textContent("body")) ?? "";
    for (const secret of [network.id, network.name, network.cidr, firstNic.ip, ...hosts.map((h) => h.id)]) {
      expect(text).not.toContain(secret);
    }
    expect(await page.locator("#topology svg g").count()).toBe(0);
    await page.context().close();
  });

  it("renders a hostile value as text: no element made from it, no script run", async () => {
    // Names are refused by the API's pattern; a description is free text.
    const named = await http("POST", "/v1/networks", acme.token, { name: HOSTILE, cidr: "10.42.0.0/24" });
    expect(named.statusCode).toBe(400);
    const page = await openView(acme.token);
    const cell = page.locator(`[data-table=networks] tr[data-key="${network.id}"] td:nth-child(4)`);
    expect(await cell.textContent()).toBe(HOSTILE);
    expect(await page.locator("img, main script").count()).toBe(0);
    expect(await page.evaluate("window.pwned")).toBeUndefined();
    // Even a deliberate HTML sink is refused by the page's CSP (Trusted Types), not only avoided.
    const sink = await page.evaluate(
      `(() => { try { document.body.insertAdjacentHTML("beforeend", ${JSON.stringify(HOSTILE)}); return "parsed"; } catch (e) { return e.name; } })()`,
    );
    expect(sink).toBe("TypeError");
    expect(await page.evaluate("window.pwned")).toBeUndefined();
    await page.context().close();
  });

  it("logs out: the token leaves the tab and the view is emptied", async () => {
    const page = await openView(acme.token);
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    expect(await page.locator("[data-table]").count()).toBe(0);
    await page.context().close();
  });
});
