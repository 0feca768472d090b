import { HostProgramError } from "../errors.js";
import type { ControllerPki } from "./controller-pki.js";
import { XapiError } from "./xapi-client.js";

type Rec = Record<string, unknown>;
/** A XAPI call: XAPI's refusals arrive as XapiError, or HostProgramError(code) as the driver makes them. */
export type XapiCall = <T>(method: string, ...params: unknown[]) => Promise<T>;

/** The name the openvswitch-config-update plugin reads the controller's CA from (/etc/stunnel/certs). */
export const SDN_CA_NAME = "sdn-controller-ca.pem";
/** pool.other_config key naming the CA of the controller that introduced itself (ours when it is our CA). */
export const POOL_CONTROLLER_KEY = "sdn-controller-ca-sha256";

/** Why a pool cannot be driven over OVSDB; the driver falls back to the plugin and shows the code. */
export class EnrolmentRefused extends Error {
  override readonly name = "EnrolmentRefused";
  constructor(
    readonly code: "SDN_CONTROLLER_UNSUPPORTED" | "POOL_HAS_OTHER_CONTROLLER" | "ENROLMENT_FAILED",
    message: string,
  ) {
    super(message);
  }
}

const xapiCode = (err: unknown): string | undefined =>
  err instanceof HostProgramError ? err.hostError : err instanceof XapiError ? err.code : undefined;

/**
 * Makes the host's pool accept this controller on OVSDB port 6640, as Xen Orchestra's SDN
 * controller does, with one difference: a pool that already has another SDN controller is
 * not taken over unless `takeOver` (the operator's decision: two controllers would fight
 * over the same switches).
 * 1. SDN_controller.get_all: a release without the class (MESSAGE_METHOD_UNKNOWN) cannot.
 * 2. A controller is ours when pool.other_config names our CA's fingerprint.
 * 3. Our CA goes to the pool's trusted certificates as sdn-controller-ca.pem:
 *    pool.install_ca_certificate (xapi 1.290.0 on), else pool.certificate_install, then
 *    pool.certificate_sync (to the other hosts). A file of that name that is not known to be
 *    ours is replaced.
 * 4. SDN_controller.introduce('pssl', '', 0): xapi refuses any other port for pssl
 *    (xapi_sdn_controller.ml); the plugin makes ovsdb-server listen on pssl:6640 with
 *    xapi-ssl.pem and our CA as the peer CA.
 */
export const enrolPool = async (call: XapiCall, pki: ControllerPki, takeOver: boolean): Promise<void> => {
  let controllers: string[];
  try {
    controllers = await call<string[]>("SDN_controller.get_all");
  } catch (err) {
    if (xapiCode(err) === "MESSAGE_METHOD_UNKNOWN") {
      throw new EnrolmentRefused("SDN_CONTROLLER_UNSUPPORTED", "this XAPI release has no SDN_controller");
    }
    throw err;
  }
  const [pool] = await call<string[]>("pool.get_all");
  if (pool === undefined) throw new EnrolmentRefused("ENROLMENT_FAILED", "XAPI lists no pool");
  const poolConfig = (await call<Rec>("pool.get_other_config", pool)) ?? {};
  const records = await Promise.all(controllers.map((c) => call<Rec>("SDN_controller.get_record", c)));
  const ours =
    poolConfig[POOL_CONTROLLER_KEY] === pki.caFingerprint256 &&
    records.length === 1 &&
    records[0]?.["protocol"] === "pssl";
  if (records.length > 0 && !ours) {
    const theirs = records.map((r) => `${String(r["protocol"])}:${String(r["address"])}:${String(r["port"])}`);
    if (!takeOver) {
      throw new EnrolmentRefused(
        "POOL_HAS_OTHER_CONTROLLER",
        `the pool has another SDN controller (${theirs.join(", ")}); set SDN_XAPI_TAKE_OVER_CONTROLLER=true to replace it`,
      );
    }
    for (const c of controllers) await call("SDN_controller.forget", c);
  }
  await installCa(call, pki.caCertificate, ours);
  if (!ours) {
    await call("SDN_controller.introduce", "pssl", "", "0");
    if (poolConfig[POOL_CONTROLLER_KEY] !== undefined) {
      await call("pool.remove_from_other_config", pool, POOL_CONTROLLER_KEY);
    }
    await call("pool.add_to_other_config", pool, POOL_CONTROLLER_KEY, pki.caFingerprint256);
  }
};

const installCa = async (call: XapiCall, pem: string, ours: boolean): Promise<void> => {
  let legacy = false;
  const install = async (): Promise<void> => {
    if (!legacy) {
      try {
        await call("pool.install_ca_certificate", SDN_CA_NAME, pem);
        return;
      } catch (err) {
        if (xapiCode(err) !== "MESSAGE_METHOD_UNKNOWN") throw err;
        legacy = true;
      }
    }
    await call("pool.certificate_install", SDN_CA_NAME, pem);
  };
  try {
    await install();
  } catch (err) {
    if (xapiCode(err) !== "CERTIFICATE_ALREADY_EXISTS") throw err;
    if (ours) return; // installed with our controller record: it is our CA
    await call("pool.certificate_uninstall", SDN_CA_NAME);
    await install();
  }
  await call("pool.certificate_sync");
};
