import { CommandError, type PushedRouterConfig } from "@sdn/contracts";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkRouterConfig, ROUTER_SCHEMA_DIR, routerSchemaFiles } from "./router-config-check.js";

const NET = "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5";

/** A configuration as compose.ts builds it: one network with a guest and one rule of each kind. */
const config = (): PushedRouterConfig => ({
  generation: 3,
  control: { port: 3922, address: "10.0.0.50" },
  public: { interface: "eth1", gateway: "203.0.113.1", addresses: [{ ip: "203.0.113.10", prefixLength: 24 }] },
  networks: [
    {
      id: NET,
      cidr: "10.1.0.0/24",
      gateway: "10.1.0.1",
      interface: "eth2",
      mac: null,
      mtu: 1450,
      sourceNatIp: "203.0.113.10",
      egress: { default: "deny", rules: [{ id: "eg-0123456789abcdef", protocol: "all", destinationCidrs: [] }] },
      guestServices: {
        domain: "web.internal",
        upstreams: ["9.9.9.9"],
        mtu: 1450,
        leaseSeconds: 86400,
        routes: [],
        guests: [
          {
            mac: "02:00:00:00:00:01",
            ip: "10.1.0.17",
            hostname: "web-1",
            instanceId: "vm-1",
            publicIp: "203.0.113.10",
            userData: null,
            publicKeys: [],
          },
        ],
      },
    },
  ],
  staticNats: [],
  portForwards: [
    {
      id: "pf-0123456789abcdef",
      publicIp: "203.0.113.10",
      protocol: "tcp",
      publicStartPort: 8080,
      publicEndPort: 8080,
      privateIp: "10.1.0.17",
      privateStartPort: 80,
      privateEndPort: 80,
    },
  ],
  firewallRules: [
    {
      id: "fw-0123456789abcdef",
      publicIp: "203.0.113.10",
      protocol: "tcp",
      startPort: 8080,
      endPort: 8080,
      sourceCidrs: [],
    },
  ],
  loadBalancers: [
    {
      id: "lb-0123456789abcdef",
      publicIp: "203.0.113.10",
      publicPort: 80,
      privatePort: 8080,
      algorithm: "roundrobin",
      members: ["10.1.0.17"],
      healthCheck: { intervalMs: 2000, fall: 2, rise: 2 },
    },
  ],
  interNetworkRoutes: [],
  vrrp: { group: "web-pair", virtualRouterId: 7, priority: 250, sourceAddress: "10.0.0.50", peers: ["10.0.0.51"] },
});

const refusal = (value: unknown): CommandError => {
  try {
    checkRouterConfig(value);
  } catch (err) {
    if (err instanceof CommandError) return err;
    throw err;
  }
  throw new Error("accepted");
};

describe("the router configuration is checked before it is sent", () => {
  it("accepts what compose builds", () => {
    expect(() => checkRouterConfig(config())).not.toThrow();
  });

  it("refuses a rule missing a field with INTERNAL, naming the field", () => {
    const c = config();
    const { privateIp: _, ...partial } = c.portForwards[0]!;
    const err = refusal({ ...c, portForwards: [partial] });
    expect(err.code).toBe("INTERNAL");
    expect(err.message).toMatch(/portForwards\/0/);
    expect(err.message).toMatch(/privateIp/);
  });

  it("refuses a field the router program does not know, and a wrong type", () => {
    expect(refusal({ ...config(), conntrack: {} }).code).toBe("INTERNAL");
    const c = config();
    expect(refusal({ ...c, public: { ...c.public, gateway: 42 } }).message).toMatch(/public\/gateway/);
    expect(refusal({ ...c, generation: undefined }).message).toMatch(/generation/);
  });

  it("has its JSON Schema written next to the router program, up to date (npm run schemas)", () => {
    const files = routerSchemaFiles();
    expect(readdirSync(ROUTER_SCHEMA_DIR).sort()).toEqual(Object.keys(files).sort());
    for (const [name, content] of Object.entries(files)) {
      expect(readFileSync(join(ROUTER_SCHEMA_DIR, name), "utf8"), `${name} is stale: run npm run schemas`).toBe(
        content,
      );
    }
  });
});
