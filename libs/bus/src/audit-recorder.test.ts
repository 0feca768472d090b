import { headers as natsHeaders } from "@nats-io/transport-node";
import { AddHost, CreateNetwork, GetNetwork, HEADERS, isAuditedCommand, UnplugNic } from "@sdn/contracts";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { auditRecordOf, type ConsumedCommand } from "./audit-recorder.js";

const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const ctx = { commandId: "c-1", accountId: "acct-a", role: "tenant" as const, deliveryCount: 1 };

const consumed = (over: Partial<ConsumedCommand>): ConsumedCommand => ({
  definition: CreateNetwork,
  origin: { kind: "principal", name: "api-gateway" },
  headers: undefined,
  ctx,
  body: encode({}),
  answer: { commandId: "c-1", ok: true, details: "", data: {} },
  ...over,
});

describe("audit records", () => {
  it("records mutating durable commands only", () => {
    expect(isAuditedCommand(CreateNetwork)).toBe(true);
    expect(isAuditedCommand(UnplugNic)).toBe(true);
    expect(isAuditedCommand(GetNetwork)).toBe(false);
    expect(isAuditedCommand({ name: "EnsureBridge", delivery: "request" })).toBe(false);
  });

  it("keeps identifiers and names, and the id the answer created; nothing else of the body", () => {
    const r = auditRecordOf(
      "network-guru",
      consumed({
        body: encode({ name: "web", cidr: "10.1.0.0/24", accountId: "acct-a", dns: ["10.0.0.1"] }),
        answer: { commandId: "c-1", ok: true, details: "", data: { id: "net-1", cidr: "10.1.0.0/24" } },
      }),
    );
    expect(r.resources).toEqual({ name: "web", accountId: "acct-a", id: "net-1" });
  });

  it("never records a host's credentials or address", () => {
    const password = randomBytes(12).toString("hex");
    const r = auditRecordOf(
      "hypervisor-agent",
      consumed({
        definition: AddHost,
        ctx: { ...ctx, role: "admin" },
        body: encode({
          name: "xen1",
          address: "10.0.0.5",
          username: "root",
          password,
          sealedCredentials: "sealed:abc",
          privateKey: "-----BEGIN",
        }),
        answer: { commandId: "c-1", ok: false, details: "no", error: { code: "UNAVAILABLE", message: "no" } },
      }),
    );
    expect(r.resources).toEqual({ name: "xen1" });
    expect(JSON.stringify(r)).not.toContain(password);
    expect(JSON.stringify(r)).not.toMatch(/sealed:|BEGIN|10\.0\.0\.5|root/);
    expect(r).toMatchObject({ ok: false, errorCode: "UNAVAILABLE", command: "AddHost", role: "admin" });
  });

  it("trusts the token id header only from the gateway", () => {
    const h = natsHeaders();
    h.set(HEADERS.tokenId, "tok-1");
    expect(auditRecordOf("network-guru", consumed({ headers: h })).tokenId).toBe("tok-1");
    const forged = auditRecordOf(
      "network-guru",
      consumed({ headers: h, origin: { kind: "account", accountId: "acct-a" } }),
    );
    expect(forged.tokenId).toBeUndefined();
    expect(forged.origin).toBe("acct.acct-a");
    expect(auditRecordOf("network-guru", consumed({ headers: h, origin: { kind: "admin" } })).tokenId).toBeUndefined();
  });

  it("drops values that are not plain identifiers", () => {
    const r = auditRecordOf("network-guru", consumed({ body: encode({ name: "a\nb", networkId: { $ne: 1 } }) }));
    expect(r.resources).toEqual({});
  });
});
