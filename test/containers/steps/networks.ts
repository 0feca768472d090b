import { expect, it } from "vitest";
import { tenantOf, type Scenario } from "../scenario.js";
import type { ContainerSystem } from "../system.js";

/** Guest networks designed by tenants, each visible to its owner only. */
export const networkSteps = (system: () => ContainerSystem, scenario: Scenario): void => {
  it("lets tenants design networks (Allocated, gateway picked) and list their own", async () => {
    const plan = [
      ["acme", "web", "10.20.0.0/24"],
      ["acme", "db", "10.20.1.0/24"],
      ["globex", "web", "10.20.0.0/24"],
    ] as const;
    for (const [tenant, name, cidr] of plan) {
      const { token } = tenantOf(scenario, tenant);
      const res = await system().api("POST", "/v1/networks", { token, body: { name, cidr } });
      expect(res.status, `${tenant}/${name}`).toBe(201);
      expect(res.body).toMatchObject({ name, cidr, state: "Allocated", gateway: cidr.replace(/0\/24$/, "1") });
      scenario.networks.set(`${tenant}/${name}`, { token, network: res.body });
    }
    const listed = await system().api("GET", "/v1/networks", { token: tenantOf(scenario, "acme").token });
    expect((listed.body["networks"] as { name: string }[]).map((n) => n.name).sort()).toEqual(["db", "web"]);
  });

  it("answers another tenant's network as not found (404), and the admin sees it", async () => {
    const acmeWeb = scenario.networks.get("acme/web")!.network;
    const globex = tenantOf(scenario, "globex");
    expect((await system().api("GET", `/v1/networks/${String(acmeWeb["id"])}`, { token: globex.token })).status).toBe(
      404,
    );
    const asAdmin = await system().api("GET", `/v1/networks/${String(acmeWeb["id"])}`);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body).toEqual(acmeWeb);
  });
};
