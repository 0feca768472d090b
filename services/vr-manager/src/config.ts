import { BaseConfig } from "@sdn/runtime";
import Type, { type Static } from "@sdn/typebox";

const ms = (fallback: number, minimum: number, description: string) =>
  Type.Integer({ minimum, default: fallback, description });
const absolutePath = (description: string) => Type.String({ pattern: "^/[A-Za-z0-9_./-]+$", description });

export const VrConfig = Type.Object({
  ...BaseConfig.properties,
  SDN_SECRET_KEY: Type.Optional(
    Type.String({
      description:
        "base64 of 32 random bytes sealing the vr-manager's SSH key at rest; default: a key generated in SDN_DATA_DIR",
    }),
  ),
  SDN_VR_SSH_KEY_FILE: Type.Optional(
    absolutePath("A private key (OpenSSH/PEM, unencrypted) to log in to routers with, instead of the generated one"),
  ),
  SDN_VR_PROGRAM_DIR: Type.String({
    pattern: "^/[A-Za-z0-9_./-]+$",
    default: "/opt/sdn-router",
    description: "Where the router program is deployed on each router",
  }),
  SDN_VR_RELAY_KEY_FILE: Type.Optional(
    absolutePath(
      "Path ON XenServer hosts of the key routers accept from the host relay (default /root/.ssh/id_sdn_router)",
    ),
  ),
  SDN_VR_CONNECT_TIMEOUT_MS: ms(10_000, 100, "Connecting to a router"),
  SDN_VR_COMMAND_TIMEOUT_MS: ms(60_000, 100, "One run of the router program"),
  SDN_VR_CHECK_INTERVAL_MS: ms(
    30_000,
    200,
    "How often each router is checked: an unreachable one that is back, or one whose configuration drifted, gets the current configuration",
  ),
  SDN_VR_DHCP_LEASE_SECONDS: Type.Integer({
    minimum: 120,
    maximum: 31_536_000,
    default: 3600,
    description: "DHCP lease time the routers hand guests (a guest renews at half of it)",
  }),
  SDN_VR_LOCK_MS: ms(120_000, 1_000, "How long one replica's claim to push to a router lasts if it dies mid-push"),
});
export type VrConfig = Static<typeof VrConfig>;
