import type { NatsConnection } from "@nats-io/transport-node";
import {
  deriveSealingKeyPair,
  JsonBucket,
  openSealedSecret,
  publishSealingKey,
  SealedSecretError,
  type SealingKeyPair,
} from "@sdn/bus";
import {
  CreateNetwork,
  DeleteNetwork,
  eventFilter,
  GetNetwork,
  GetNetworkTunnelSecret,
  ImplementNetwork,
  ipsecPskSealingContext,
  ListNetworks,
  UpdateNetwork,
  type SealedSecret,
} from "@sdn/contracts";
import { redact } from "@sdn/runtime";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GuruHarness, tenant } from "./harness.js";

const alice = tenant("alice");
let h: GuruHarness;
let agent: NatsConnection;
let sealing: SealingKeyPair;
const published: string[] = [];

beforeAll(async () => {
  h = await GuruHarness.start(1);
  // The agent publishes its sealing key as it does at start (under its own bus permissions).
  agent = await h.nats.connectAs("hypervisor-agent");
  sealing = deriveSealingKeyPair(randomBytes(32));
  await publishSealingKey(agent, sealing.publicKey);
  h.nc.subscribe(eventFilter({ service: "network-guru" }), {
    callback: (_e, m) => void published.push(m.string()),
  });
});

afterAll(async () => {
  await agent?.close();
  await h?.stop();
});

const secretOf = async (networkId: string): Promise<SealedSecret> =>
  (await h.ok(GetNetworkTunnelSecret, { networkId }, ADMIN)).sealedPsk;

describe("encrypted networks (encryption: ipsec)", () => {
  it("seals a fresh 256-bit key per network that only the agent opens, bound to its network", async () => {
    const a = await h.ok(CreateNetwork, { name: "enc-a", cidr: "10.7.0.0/24", encryption: "ipsec" }, alice);
    const b = await h.ok(CreateNetwork, { name: "enc-b", cidr: "10.7.0.0/24", encryption: "ipsec" }, alice);
    expect(a.encryption).toBe("ipsec");
    const [sa, sb] = [await secretOf(a.id), await secretOf(b.id)];
    expect(sa.keyId).toBe(sealing.publicKey.keyId);
    const [pa, pb] = [
      openSealedSecret(sealing, sa, ipsecPskSealingContext(a.id)),
      openSealedSecret(sealing, sb, ipsecPskSealingContext(b.id)),
    ];
    expect(pa).toMatch(/^[0-9a-f]{64}$/);
    expect(pb).toMatch(/^[0-9a-f]{64}$/);
    expect(pa).not.toBe(pb);
    // Bound to its network: a's sealed key does not open as b's.
    expect(() => openSealedSecret(sealing, sa, ipsecPskSealingContext(b.id))).toThrow(SealedSecretError);
    // Another agent key (another SDN_SECRET_KEY) cannot open it.
    expect(() => openSealedSecret(deriveSealingKeyPair(randomBytes(32)), sa, ipsecPskSealingContext(a.id))).toThrow(
      SealedSecretError,
    );
    // The key stays with the network through implement: the same sealed key, not a new one.
    await h.ok(ImplementNetwork, { networkId: a.id }, alice);
    expect(openSealedSecret(sealing, await secretOf(a.id), ipsecPskSealingContext(a.id))).toBe(pa);

    // Never in an answer the tenant gets, never in an event, never in clear at rest.
    const answers = JSON.stringify([
      a,
      await h.ok(GetNetwork, { networkId: a.id }, alice),
      await h.ok(ListNetworks, {}, alice),
      await h.ok(UpdateNetwork, { networkId: a.id, mtu: 1400 }, alice),
    ]);
    expect(answers).not.toContain(pa);
    expect(answers).not.toMatch(/psk|ciphertext/i);
    expect(published.join("\n")).not.toMatch(/psk|ciphertext/i);
    expect(published.join("\n")).not.toContain(pa);
    const guru = await h.nats.connectAs("network-guru");
    try {
      const raw = await (await JsonBucket.open<Record<string, unknown>>(guru, "sdn_guru_networks")).get(a.id);
      const stored = JSON.stringify(raw?.value);
      expect(stored).not.toContain(pa);
      expect(stored).toContain(sa.ciphertext);
    } finally {
      await guru.close();
    }
    // A log line of the request or answer redacts it by key name, sealed or not.
    // Substring checks: the ciphertext is base64, so '+' and '/' would break a RegExp built from it.
    const logged = JSON.stringify(redact({ req: { ipsecPsk: sa, psk: pa }, data: { sealedPsk: sa } }));
    expect(logged).not.toContain(pa);
    expect(logged).not.toContain(sa.ciphertext);
    for (const n of [a, b]) await h.ok(DeleteNetwork, { networkId: n.id }, alice);
  });

  it("answers the sealed key to admins only, and only for encrypted networks", async () => {
    const enc = await h.ok(CreateNetwork, { name: "enc", cidr: "10.8.0.0/24", encryption: "ipsec" }, alice);
    const plain = await h.ok(CreateNetwork, { name: "plain", cidr: "10.8.0.0/24" }, alice);
    expect(plain.encryption).toBe("none");
    expect((await h.fail(GetNetworkTunnelSecret, { networkId: enc.id }, alice)).code).toBe("FORBIDDEN");
    expect((await h.fail(GetNetworkTunnelSecret, { networkId: plain.id }, ADMIN)).code).toBe("NOT_FOUND");
    for (const n of [enc, plain]) await h.ok(DeleteNetwork, { networkId: n.id }, alice);
  });

  it("keeps the encryption fixed once designed: 409 naming /encryption, nothing changed", async () => {
    const n = await h.ok(CreateNetwork, { name: "fixed", cidr: "10.9.0.0/24", encryption: "ipsec" }, alice);
    const before = await secretOf(n.id);
    const change = await h.fail(UpdateNetwork, { networkId: n.id, encryption: "none", mtu: 1400 }, alice);
    expect(change.code).toBe("CONFLICT");
    expect((change.details as { issues: { path: string }[] }).issues[0]?.path).toBe("/encryption");
    expect(change.message).toContain("ipsec");
    const after = await h.ok(GetNetwork, { networkId: n.id }, alice);
    expect(after).toMatchObject({ encryption: "ipsec", mtu: n.mtu });
    expect(await secretOf(n.id)).toEqual(before);
    // Its own value is accepted (a client that sends back what it read).
    expect((await h.ok(UpdateNetwork, { networkId: n.id, encryption: "ipsec", mtu: 1400 }, alice)).mtu).toBe(1400);
    const plain = await h.ok(CreateNetwork, { name: "plain-fixed", cidr: "10.9.0.0/24" }, alice);
    expect((await h.fail(UpdateNetwork, { networkId: plain.id, encryption: "ipsec" }, alice)).code).toBe("CONFLICT");
    for (const x of [n, plain]) await h.ok(DeleteNetwork, { networkId: x.id }, alice);
  });
});
