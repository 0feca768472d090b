import { connect, credsAuthenticator, errors, type NatsConnection } from "@nats-io/transport-node";
import { CommandClient, GATEWAY_ORIGIN } from "@sdn/bus";
import {
  answerFilter,
  commandSubject,
  CreateNetwork,
  CreatePublicIpRange,
  eventFilter,
  type IssuedBusCredential,
} from "@sdn/contracts";
import { publishRefusal, subscriptionEnd } from "@sdn/testkit";
import { expect, it } from "vitest";
import { tenantOf, type Scenario } from "../scenario.js";
import type { ContainerSystem } from "../system.js";

/**
 * Bus security of the containerised NATS (authentication on, as docker-compose.yml runs
 * it): nothing anonymous connects, and bus credentials a tenant gets from the gateway act
 * as that tenant only, whatever headers they forge.
 */
export const busSteps = (system: () => ContainerSystem, scenario: Scenario): void => {
  it("refuses an anonymous connection to NATS", async () => {
    const err = await connect({ servers: system().natsUrl, maxReconnectAttempts: 0 }).then(
      async (nc) => {
        await nc.close();
        return "connected";
      },
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/Authorization Violation/i);
  });

  it("lets a tenant's bus credentials (POST /v1/accounts/{id}/bus-credentials) act only as that tenant", async () => {
    const acme = tenantOf(scenario, "acme");
    const globex = tenantOf(scenario, "globex");
    const issued = await system().api("POST", `/v1/accounts/${acme.accountId}/bus-credentials`);
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const cred = issued.body as unknown as IssuedBusCredential;
    const nc: NatsConnection = await connect({
      servers: system().natsUrl,
      inboxPrefix: cred.inboxPrefix,
      authenticator: credsAuthenticator(new TextEncoder().encode(cred.creds)),
      maxReconnectAttempts: 0,
    });
    try {
      const client = new CommandClient(nc, { kind: "account", accountId: acme.accountId });
      // Headers forged to say admin, of the other tenant: the connection decides.
      const forged = { role: "admin" as const, accountId: globex.accountId, timeoutMs: 20_000 };
      const created = await client.send(CreateNetwork, { name: "from-the-bus", cidr: "10.83.0.0/24" }, forged);
      expect(created).toMatchObject({ ok: true, data: { accountId: acme.accountId } });
      const id = created.ok ? created.data.id : "";
      expect((await system().api("GET", `/v1/networks/${id}`, { token: acme.token })).status).toBe(200);
      expect((await system().api("GET", `/v1/networks/${id}`, { token: globex.token })).status).toBe(404);
      const range = await client.send(
        CreatePublicIpRange,
        { cidr: "198.51.100.0/24", startIp: "198.51.100.10", endIp: "198.51.100.20", gateway: "198.51.100.1" },
        forged,
      );
      expect(range).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });

      for (const subject of [
        answerFilter(globex.accountId),
        eventFilter({ accountId: globex.accountId }),
        "sdn.agent.>",
      ]) {
        expect(await subscriptionEnd(nc, subject), subject).toBeInstanceOf(errors.PermissionViolationError);
      }
      for (const origin of [GATEWAY_ORIGIN, { kind: "account", accountId: globex.accountId } as const]) {
        const subject = commandSubject("network-guru", CreateNetwork.name, origin);
        expect(await publishRefusal(nc, subject), subject).toBeInstanceOf(errors.PermissionViolationError);
      }
    } finally {
      await nc.close().catch(() => undefined);
      const revoked = await system().api("DELETE", `/v1/accounts/${acme.accountId}/bus-credentials/${cred.id}`);
      expect(revoked.status).toBe(204);
    }
  });
};
