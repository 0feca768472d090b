import { OvsdbError, type OvsdbEndpoint } from "@sdn/ovsdb";
import { HostOvsdb } from "../ovsdb/host-ovsdb.js";
import type { ControllerPki } from "./controller-pki.js";
import { EnrolmentRefused, enrolPool, type XapiCall } from "./pool-enrolment.js";
import { fingerprintOf, type XapiTls } from "./xapi-client.js";

/** Where ovsdb-server listens once the pool has a `pssl` SDN controller (openvswitch-config-update). */
export const XAPI_OVSDB_PORT = 6640;
/** After introduce, the plugin has ovsdb-server open the port: this long is allowed for it. */
const LISTEN_WAIT_MS = 5_000;

export interface XapiOvsdbOptions {
  address: string;
  /** How XAPI's own certificate is checked; the OVSDB certificate is checked the same way. */
  tls: XapiTls;
  pki: () => Promise<ControllerPki>;
  takeOver: boolean;
  timeoutMs: number;
}

/** Why a XAPI host is not driven over OVSDB (shown in its status; the plugin does the work). */
export class XapiOvsdbRefused extends Error {
  override readonly name = "XapiOvsdbRefused";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The TLS endpoint of a XAPI host's OVSDB. XenServer / XCP-ng serve it with xapi-ssl.pem,
 * the certificate XAPI itself presents: when the host was registered with that certificate
 * (tlsCertificate), exactly it is accepted (pinned by its SHA-256, like an SSH host key);
 * with a CA's certificate, one it issued for the host's address; with neither, one the
 * system's CAs issued for it. Never unchecked: a host registered with tlsInsecure is not
 * driven over OVSDB at all (Xen Orchestra skips this check; we do not).
 */
export const xapiOvsdbEndpoint = (o: XapiOvsdbOptions, pki: ControllerPki): OvsdbEndpoint => {
  if (o.tls.insecure === true) {
    throw new XapiOvsdbRefused(
      "HOST_CERT_UNPINNED",
      "XAPI's certificate is not checked (tlsInsecure), so the host's OVSDB certificate cannot be either",
    );
  }
  const pinned = o.tls.certificate === undefined ? undefined : fingerprintOf(o.tls.certificate);
  return {
    kind: "tls",
    host: o.address,
    port: XAPI_OVSDB_PORT,
    cert: pki.clientCertificate,
    key: pki.clientKey,
    ...(o.tls.certificate === undefined ? {} : { ca: o.tls.certificate }),
    ...(pinned === undefined ? {} : { pinnedFingerprint256: pinned }),
  };
};

/**
 * Enrols the host's pool (our CA, SDN_controller.introduce) and opens its OVSDB over TLS.
 * Refusals come as XapiOvsdbRefused with a code: SDN_CONTROLLER_UNSUPPORTED,
 * POOL_HAS_OTHER_CONTROLLER, HOST_CERT_UNPINNED, HOST_CERT_MISMATCH, OVSDB_UNREACHABLE,
 * ENROLMENT_FAILED.
 */
export const openXapiOvsdb = async (o: XapiOvsdbOptions, call: XapiCall): Promise<HostOvsdb> => {
  const pki = await o.pki().catch((err: unknown) => {
    throw new XapiOvsdbRefused("ENROLMENT_FAILED", `no controller certificate: ${(err as Error).message}`);
  });
  const endpoint = xapiOvsdbEndpoint(o, pki);
  try {
    await enrolPool(call, pki, o.takeOver);
  } catch (err) {
    if (err instanceof EnrolmentRefused) throw new XapiOvsdbRefused(err.code, err.message);
    throw new XapiOvsdbRefused("ENROLMENT_FAILED", `enrolling the pool failed: ${(err as Error).message}`);
  }
  const deadline = Date.now() + LISTEN_WAIT_MS;
  for (;;) {
    try {
      return await HostOvsdb.open(endpoint, o.timeoutMs);
    } catch (err) {
      const code = err instanceof OvsdbError ? err.code : undefined;
      if (code === "CERTIFICATE_REJECTED") {
        throw new XapiOvsdbRefused(
          "HOST_CERT_MISMATCH",
          `the host's OVSDB presents a certificate other than the one pinned for ${o.address}: ${(err as Error).message}`,
        );
      }
      if (code !== "CONNECT_FAILED" || Date.now() > deadline) {
        throw new XapiOvsdbRefused(
          "OVSDB_UNREACHABLE",
          `ssl:${o.address}:${XAPI_OVSDB_PORT}: ${(err as Error).message}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
};
