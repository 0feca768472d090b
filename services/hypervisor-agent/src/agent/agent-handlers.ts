import { bindHandler, type BoundHandler, type SealingKeyPair } from "@sdn/bus";
import {
  ApplyTunnels,
  DestroyBridge,
  FetchInterface,
  GetOvsState,
  ListVms,
  Ping,
  PlugVif,
  RelayToRouter,
  SetupBridge,
  UnplugVif,
  type Host,
} from "@sdn/contracts";
import type { HostDriver } from "../drivers/driver.js";
import type { SouthboundStatus } from "../drivers/ovsdb/southbound.js";
import { HostFailure, toCommandError } from "../drivers/errors.js";
import { tunnelOf } from "../drivers/tunnel-spec.js";
import { BridgeOnDemand, withoutEnsure } from "./bridge-on-demand.js";
import { openIpsecPsk } from "./ipsec-psk.js";
import { checkRelayRequest } from "./relay-policy.js";

/** What the handlers of one host need from the manager that serves it. */
export interface ServedHost {
  readonly host: Host;
  readonly agentInstanceId: string;
  driver(): HostDriver;
  /** Called when the host stopped answering (UNREACHABLE), with why. */
  lost(reason: string): void;
  /** Called when a command reached the host. */
  reached(): void;
}

/** How the host's Open vSwitch is driven, for drivers that can tell. */
const southboundOf = (d: HostDriver): { southbound?: SouthboundStatus } => {
  const status = d.southboundStatus?.();
  return status === undefined ? {} : { southbound: status };
};

/**
 * The agent commands of one host, on sdn.agent.<hostId>.*. Driver errors become answers
 * with codes (HostFailure, HostProgramError); losing the host marks it Disconnected.
 */
export const agentHandlers = (
  served: ServedHost,
  policy: { relayKeyFile: string; sealing: SealingKeyPair },
): BoundHandler[] => {
  const drive = async <T>(work: (d: HostDriver) => Promise<T>): Promise<T> => {
    try {
      const out = await work(served.driver());
      served.reached();
      return out;
    } catch (err) {
      if (err instanceof HostFailure && err.reason === "UNREACHABLE") served.lost(err.message);
      return toCommandError(err);
    }
  };
  const name = served.host.name;
  const bridges = new BridgeOnDemand(() => served.driver());
  return [
    bindHandler(Ping, async () => {
      const started = performance.now();
      const version = await drive((d) => d.ping());
      return {
        data: {
          hostId: served.host.id,
          agentInstanceId: served.agentInstanceId,
          platform: served.host.platform,
          programsVersion: version,
          roundTripMs: performance.now() - started,
          ...southboundOf(served.driver()),
        },
        details: `${name} answers (programs ${version})`,
      };
    }),
    bindHandler(SetupBridge, async (req) => {
      const data = await drive((d) => d.setupBridge(req));
      return {
        data,
        details: `bridge ${data.bridge} of network ${req.networkId} ${data.created ? "created" : "present"} on ${name}`,
      };
    }),
    bindHandler(DestroyBridge, async (req) => {
      const data = await drive((d) => d.destroyBridge(req));
      return {
        data,
        details: data.destroyed
          ? `bridge ${data.bridge} removed from ${name}`
          : `no bridge of ${req.networkId} on ${name}`,
      };
    }),
    bindHandler(ApplyTunnels, async (req) => {
      tunnelOf(req);
      const psk = req.ipsecPsk === undefined ? undefined : openIpsecPsk(policy.sealing, req.networkId, req.ipsecPsk);
      const data = await drive((d) => bridges.run(req, () => d.applyTunnels(withoutEnsure(req), psk)));
      return {
        data,
        details: `${data.tunnels.length} tunnels on ${data.bridge} of ${name} (${data.added.length} added, ${data.removed.length} removed)`,
      };
    }),
    bindHandler(FetchInterface, async (req) => {
      const data = await drive((d) => d.fetchInterface(req.label));
      return { data, details: `tunnel endpoint of ${name} is ${data.ip} on ${data.device}` };
    }),
    bindHandler(PlugVif, async (req) => {
      const data = await drive((d) => bridges.run(req, () => d.plugVif(withoutEnsure(req))));
      return { data, details: `${data.port} plugged into ${data.bridge} on ${name}` };
    }),
    bindHandler(UnplugVif, async (req) => {
      const data = await drive((d) => d.unplugVif(req));
      return {
        data,
        details: data.removed ? `${data.port} unplugged on ${name}` : `${data.port} was not plugged on ${name}`,
      };
    }),
    bindHandler(GetOvsState, async (req) => {
      const data = await drive((d) => d.ovsState(req));
      return { data, details: `${data.bridges.length} bridges on ${name}` };
    }),
    bindHandler(RelayToRouter, async (req) => {
      const allowed = checkRelayRequest(req, policy.relayKeyFile);
      const data = await drive((d) => d.relayToRouter(allowed));
      return { data, details: `${req.argv[0] ?? ""} on router ${req.address} via ${name} exited ${data.exitCode}` };
    }),
    bindHandler(ListVms, async () => {
      const data = await drive((d) => d.listVms());
      return { data, details: `${data.vms.length} VMs on ${name}` };
    }),
  ];
};
