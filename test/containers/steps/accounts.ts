import { expect, it } from "vitest";
import type { Scenario } from "../scenario.js";
import type { ContainerSystem } from "../system.js";

/** Tenants: the admin creates two accounts; each gets its first token. */
export const accountSteps = (system: () => ContainerSystem, scenario: Scenario): void => {
  it("creates tenant accounts with their first tokens (admin)", async () => {
    for (const name of ["acme", "globex"]) {
      const res = await system().api("POST", "/v1/accounts", { body: { name } });
      expect(res.status, name).toBe(201);
      const { account, token } = res.body as { account: { id: string; name: string }; token: { token: string } };
      expect(account.name).toBe(name);
      scenario.tenants.set(name, { accountId: account.id, token: token.token });
    }
  });

  it("refuses an unknown token (401) and a tenant on admin routes (403)", async () => {
    expect((await system().api("GET", "/v1/accounts", { token: "sdn_not-a-token" })).status).toBe(401);
    const acme = scenario.tenants.get("acme")!;
    expect((await system().api("GET", "/v1/accounts", { token: acme.token })).status).toBe(403);
    expect((await system().api("POST", "/v1/services/network-guru/health-checks", { token: acme.token })).status).toBe(
      403,
    );
    expect((await system().api("GET", `/v1/accounts/${acme.accountId}`, { token: acme.token })).status).toBe(200);
  });
};
