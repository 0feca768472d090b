import { connect, type NatsConnection } from "@nats-io/transport-node";
import { deriveSealingKeyPair, request, sealSecret, serveRequests, silentLogger, type RequestServer } from "@sdn/bus";
import { agentPrefix, agentSubject, ApplyTunnels, ipsecPskSealingContext, type Host } from "@sdn/contracts";
import { TestNatsServer } from "@sdn/testkit";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHandlers, type HostDriver } from "@sdn/hypervisor-agent";

/*
 * The agent's side of an encrypted network's key, over a real nats-server: ApplyTunnels
 * carries it sealed, the agent opens it with its own key and hands the driver the key in
 * clear; a key that does not open (another agent key, another network's) is refused before
 * the driver is called, so the host never gets the tunnels without it.
 */

const NET = "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5";
const OTHER_NET = "4a1d2e3f-5c6b-4d7e-8f90-b1c2d3e4f5a6";
const PSK = randomBytes(32).toString("hex");
const sealing = deriveSealingKeyPair(randomBytes(32));
let nats: TestNatsServer;
let nc: NatsConnection;
let server: RequestServer;
const given: (string | undefined)[] = [];

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  const driver = {
    applyTunnels: async (_req: unknown, psk?: string) => {
      given.push(psk);
      return { bridge: "br-n", added: [], removed: [], tunnels: [] };
    },
  } as unknown as HostDriver;
  server = serveRequests(nc, {
    prefix: agentPrefix("h1"),
    logger: silentLogger,
    handlers: agentHandlers(
      {
        host: { id: "h1", name: "h1" } as Host,
        agentInstanceId: "test",
        driver: () => driver,
        lost: () => undefined,
        reached: () => undefined,
      },
      { relayKeyFile: "/root/.ssh/id_sdn_router", sealing },
    ),
  });
});

afterAll(async () => {
  await server?.drain();
  await nc?.close();
  await nats?.dispose();
});

const apply = (ipsecPsk?: ReturnType<typeof sealSecret>) =>
  request(nc, ApplyTunnels, agentSubject("h1", "ApplyTunnels"), {
    networkId: NET,
    greKey: 7,
    remotes: [{ ip: "10.0.0.2" }],
    ...(ipsecPsk === undefined ? {} : { ipsecPsk }),
  });

describe("the agent opens an encrypted network's key", () => {
  it("hands the driver the key it opened, and none to a plain network", async () => {
    expect((await apply(sealSecret(sealing.publicKey, PSK, ipsecPskSealingContext(NET)))).ok).toBe(true);
    expect((await apply()).ok).toBe(true);
    expect(given).toEqual([PSK, undefined]);
  });

  it("refuses a key that does not open, before the driver is called, without naming the key", async () => {
    given.length = 0;
    const other = deriveSealingKeyPair(randomBytes(32)).publicKey;
    for (const sealed of [
      sealSecret(other, PSK, ipsecPskSealingContext(NET)),
      sealSecret(sealing.publicKey, PSK, ipsecPskSealingContext(OTHER_NET)),
    ]) {
      const a = await apply(sealed);
      expect(a.ok).toBe(false);
      if (a.ok) continue;
      expect(a.error.code).toBe("UNPROCESSABLE");
      expect(a.error.details).toEqual({ hostError: "IPSEC_KEY_UNREADABLE" });
      expect(JSON.stringify(a.error)).not.toContain(PSK);
    }
    expect(given).toEqual([]);
  });
});
