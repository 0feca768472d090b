import Type from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { HostKeyFingerprint, Ipv4 } from "../resources/hosts.js";

/** The router program's own commands: the only argv[1] a relay may run it with. */
export const ROUTER_PROGRAM_COMMANDS = ["version", "state", "apply"] as const;

/** The router program's file name; its directory is the vr-manager's SDN_VR_PROGRAM_DIR. */
export const ROUTER_PROGRAM_NAME = "sdn-router";

/**
 * The files deployed into the router program's folder, with their modes: the program and
 * the modules beside it (guest services, VRRP, connection sync, and its own modules by
 * concern). The relay deploys these and nothing else.
 */
export const ROUTER_PROGRAM_FILES: Readonly<Record<string, string>> = {
  [ROUTER_PROGRAM_NAME]: "755",
  "sdn_guest_config.py": "644",
  "sdn_guest_services.py": "644",
  "sdn_metadata.py": "755",
  "sdn_vrrp.py": "755",
  "sdn_conntrack_sync.py": "644",
  "sdn_router_system.py": "644",
  "sdn_router_state.py": "644",
  "sdn_router_undo.py": "644",
  "sdn_router_checks.py": "644",
  "sdn_router_iptables.py": "644",
  "sdn_router_haproxy.py": "644",
  "sdn_router_conntrack.py": "644",
  "sdn_router_apply.py": "644",
};

/**
 * How the vr-manager deploys the router program through a relay: `sh -c <this> sh <path>
 * <mode>` with the program as stdin (written aside, then renamed). The relay runs this
 * script and no other shell.
 */
export const ROUTER_DEPLOY_SCRIPT =
  'umask 077 && mkdir -p "$(dirname "$1")" && cat > "$1.new" && chmod "$2" "$1.new" && mv -f "$1.new" "$1"';

/** The relay key's file name on every host (its directory may be configured). */
export const RELAY_KEY_NAME = "id_sdn_router";

/**
 * The agent command through which the vr-manager reaches a router that only its host can
 * reach (XenServer's link-local control network), as CloudStack's router_proxy.sh did but
 * with the router's host key pinned. The agent runs the host programs' `router_relay`
 * (XAPI: host.call_plugin; KVM: the host script), which opens SSH from the host to the
 * router with the host's relay key, checks the router's host key against the fingerprint,
 * and runs `argv` with the given stdin. Request/reply on sdn.agent.<hostId>.RelayToRouter.
 * The agent and the host program both refuse (FORBIDDEN, details.reason) a router address
 * outside 169.254.0.0/16 (RELAY_ADDRESS_NOT_LINK_LOCAL), an identity file other than the
 * agent's configured relay key (RELAY_KEY_NOT_ALLOWED) and any argv but the router
 * program's own (RELAY_COMMAND_NOT_ALLOWED): `<dir>/sdn-router version|state|apply`,
 * `mkdir -p <dir>` and the deploy script.
 */
export const RelayToRouter = defineCommand({
  service: "hypervisor-agent",
  name: "RelayToRouter",
  delivery: "request",
  summary:
    "Runs a command on a router over SSH from the host (pinned host key, the host's relay key); answers its exit " +
    "status and output. UNPROCESSABLE (details.hostError) when SSH from the host fails or the key does not match.",
  request: Type.Object(
    {
      address: { ...Ipv4, description: "The router's control (link-local) address as the host sees it" },
      port: Type.Integer({ minimum: 1, maximum: 65535, examples: [3922] }),
      username: Type.String({ pattern: "^[a-z_][a-z0-9_-]{0,31}$", examples: ["root"] }),
      hostKeyFingerprint: HostKeyFingerprint,
      identityFile: Type.Optional(
        Type.String({
          pattern: "^/[A-Za-z0-9_./-]{1,255}$",
          description:
            "Path ON THE HOST of the relay key; must be the agent's SDN_AGENT_RELAY_KEY_FILE (default /root/.ssh/id_sdn_router)",
        }),
      ),
      argv: Type.Array(Type.String({ maxLength: 4096 }), { minItems: 1, maxItems: 32 }),
      stdinGzipBase64: Type.Optional(
        Type.String({
          maxLength: 700_000,
          description: "stdin for the command, gzip-compressed then base64 (XAPI plugin arguments are bounded)",
        }),
      ),
      timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
    },
    { additionalProperties: false },
  ),
  response: Type.Object(
    {
      exitCode: Type.Union([Type.Integer(), Type.Null()], { description: "null when killed by a signal" }),
      stdout: Type.String(),
      stderr: Type.String(),
    },
    { additionalProperties: false },
  ),
});
