import { HostProgramError } from "../errors.js";
import { HOST_PROGRAMS_VERSION, XAPI_PLUGIN, XAPI_PLUGIN_DIR, XAPI_PLUGIN_FILES } from "../host-programs.js";
import { deployPrograms } from "../ssh/deploy-programs.js";
import type { SshConnection } from "../ssh/ssh-connection.js";
import { pluginRefusal, type PluginCheck } from "./plugin-failure.js";

/** A XAPI host whose plugin is to be checked and, where SSH is given, deployed. */
export interface PluginHost {
  address: string;
  /** SSH to the control domain; without it a missing, outdated or broken plugin is refused. */
  ssh: SshConnection | undefined;
  /** Record the SSH host key on first contact (AddHost's trustHostKeyOnFirstContact). */
  trustOnFirstContact: boolean;
  timeoutMs: number;
  /** The plugin's version as XAPI runs it; a HostProgramError when it cannot. */
  ping: () => Promise<string>;
}

/** SSH to a XAPI host is for deployment only: the connection closes once it is done. */
const sshOnce = async <T>(ssh: SshConnection, fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn();
  } finally {
    ssh.close();
  }
};

const checkPlugin = async (host: PluginHost): Promise<PluginCheck> => {
  try {
    return { version: await host.ping() };
  } catch (err) {
    if (err instanceof HostProgramError) return { problem: err };
    throw err;
  }
};

/**
 * Makes the host run this agent's plugin: when it is missing, of another version or
 * broken (e.g. installed without its library), deploys it over SFTP into XAPI's plugin
 * directory and checks again through XAPI, which is what will run it. Answers its version.
 */
export const ensurePlugin = async (host: PluginHost): Promise<string> => {
  const { ssh, address } = host;
  let check = await checkPlugin(host);
  if ("version" in check && check.version === HOST_PROGRAMS_VERSION) {
    // Asked to record the SSH host key on first contact: this is the first contact.
    if (ssh !== undefined && host.trustOnFirstContact) await sshOnce(ssh, () => ssh.reach());
    return check.version;
  }
  // Our plugin ran and found dom0's Python too old: deploying it again would not help.
  if ("problem" in check && check.problem.hostError === "UNSUPPORTED_PYTHON") throw pluginRefusal(address, check, "");
  if (ssh === undefined) {
    throw pluginRefusal(
      address,
      check,
      `; give the host's SSH hostKeyFingerprint (or trustHostKeyOnFirstContact) for the agent to deploy it, or copy services/hypervisor-agent/host/{${XAPI_PLUGIN_FILES.join(",")}} to ${XAPI_PLUGIN_DIR}`,
    );
  }
  await sshOnce(ssh, () => deployPrograms(ssh, XAPI_PLUGIN_DIR, XAPI_PLUGIN_FILES, XAPI_PLUGIN, host.timeoutMs));
  check = await checkPlugin(host);
  if ("version" in check && check.version === HOST_PROGRAMS_VERSION) return check.version;
  throw pluginRefusal(address, check, ` after the agent deployed it to ${XAPI_PLUGIN_DIR}`);
};
