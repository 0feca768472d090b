import { BaseConfig } from "@sdn/runtime";
import Type, { type Static } from "@sdn/typebox";
import { RELAY_KEY_FILE_PATTERN } from "./agent/relay-policy.js";

export const AgentConfig = Type.Object({
  ...BaseConfig.properties,
  SDN_SECRET_KEY: Type.Optional(
    Type.String({
      description:
        "base64 of 32 random bytes encrypting host credentials at rest; default: a key generated in SDN_DATA_DIR",
    }),
  ),
  SDN_HOST_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000, description: "Connecting to a host" }),
  SDN_HOST_COMMAND_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 30_000,
    description: "One XAPI call or host program run",
  }),
  SDN_AGENT_LEASE_MS: Type.Integer({
    minimum: 1_000,
    // Kept without renewal for two thirds of it, renewed every sixth: 24 s leaves 12 s for a
    // renewal to get through, past a NATS Raft election (4-9 s before a follower campaigns).
    default: 24_000,
    description: "How long a replica's claim on a host lasts without renewal (renewed every sixth of it)",
  }),
  SDN_HOST_CHECK_INTERVAL_MS: Type.Integer({
    minimum: 200,
    default: 30_000,
    description: "How often the replica in charge of a host checks that it answers",
  }),
  SDN_FLOW_CHECK_INTERVAL_MS: Type.Integer({
    minimum: 200,
    default: 60_000,
    description:
      "How often the replica in charge of a host compares its port-security flows with what the ports ask for and restores them (the safety net: KVM hosts over OVSDB restore them as soon as ovs-vswitchd restarts)",
  }),
  SDN_KVM_PROGRAM_DIR: Type.String({
    pattern: "^/[A-Za-z0-9_./-]+$",
    default: "/opt/sdn-agent",
    description: "Where the KVM host programs are deployed on each host",
  }),
  SDN_SSH_MAX_SESSIONS: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 8,
    description: "Parallel SSH channels per host (below sshd's MaxSessions)",
  }),
  SDN_KVM_OVSDB: Type.Boolean({
    default: true,
    description:
      "Drive KVM hosts' Open vSwitch over OVSDB (the host's db.sock forwarded through the SSH connection); false: the host program only",
  }),
  SDN_XAPI_OVSDB: Type.Boolean({
    default: true,
    description:
      "Drive XenServer / XCP-ng hosts' Open vSwitch over OVSDB on TLS port 6640 (our CA installed on the pool, SDN_controller.introduce, the host's certificate pinned); false: the XAPI plugin only",
  }),
  SDN_XAPI_TAKE_OVER_CONTROLLER: Type.Boolean({
    default: false,
    description:
      "Forget a pool's other SDN controller (e.g. Xen Orchestra's) to introduce this one; false: such a pool is driven through the XAPI plugin",
  }),
  SDN_AGENT_RELAY_KEY_FILE: Type.String({
    pattern: RELAY_KEY_FILE_PATTERN,
    default: "/root/.ssh/id_sdn_router",
    description:
      "Path ON THE HOSTS of the key routers accept from the host relay (RelayToRouter uses it and no other); named id_sdn_router",
  }),
  SDN_BFD_MIN_RX_MS: Type.Integer({
    minimum: 1,
    maximum: 3_600_000,
    default: 1_000,
    description: "BFD on every tunnel: the slowest rate (ms) this end accepts control packets at",
  }),
  SDN_BFD_MIN_TX_MS: Type.Integer({
    minimum: 1,
    maximum: 3_600_000,
    default: 100,
    description: "BFD on every tunnel: the fastest rate (ms) this end sends control packets at",
  }),
  SDN_BFD_MULT: Type.Integer({
    minimum: 1,
    maximum: 255,
    default: 3,
    description:
      "BFD on every tunnel: packets missed before the path is declared down (with the defaults: 3 x 1 s = 3 s)",
  }),
  SDN_TUNNEL_HEALTH_INTERVAL_MS: Type.Integer({
    minimum: 100,
    default: 1_000,
    description: "How often the agent reads its hosts' tunnel BFD status (KVM over OVSDB: from the monitor's cache)",
  }),
  SDN_TUNNEL_HEALTH_GRACE_MS: Type.Integer({
    minimum: 0,
    default: 5_000,
    description: "How long a new tunnel whose BFD has not come up yet is unknown rather than down",
  }),
  SDN_AGENT_SIMULATOR: Type.Boolean({
    default: false,
    description:
      "Simulate every host (tests and demos only): no connection, state in SDN_DATA_DIR/simulator; never in production",
  }),
});
export type AgentConfig = Static<typeof AgentConfig>;
