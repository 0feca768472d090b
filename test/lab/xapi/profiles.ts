/**
 * The hosts the emulator can be: what host.software_version and API_version_* say on each
 * release, and the Python its control domain runs plugins with. Keys and values follow
 * xapi (ocaml/xapi/xapi_globs.ml software_version, create_misc.ml: empty product_* keys
 * are left out) and what the releases report:
 * - XenServer 8 (8.4.0): product_brand XenServer, dom0 Python 3.6, API 2.21.
 * - XCP-ng 8.3.0 and 8.2.1: product_brand XCP-ng; 8.3's dom0 has Python 3.6, 8.2's plugins
 *   run on Python 2.7 (python3 is not installed by default). API 2.21 and 2.16.
 * - Xen Cloud Platform 1.6 (2013, what CloudStack's XCP support met): no product_* keys.
 *   Its dom0 had Python 2.4-2.6; the profile gives it 3.6 so that the agent's handling of
 *   its other quirks (no product_*, no network labels) stays testable.
 * The brand, product_version and name-label facts are what the agent relies on; build
 * numbers and component versions are illustrative.
 *
 * Which calls a release lacks, from their lifecycles in ocaml/idl: SDN_controller is
 * Published in rel_falcon (datamodel.ml; XenServer 7.1), so only Xen Cloud Platform 1.6
 * lacks it; pool.install_ca_certificate and uninstall_ca_certificate are Published in
 * 1.290.0 (datamodel_pool.ml), after XCP-ng 8.2's xapi 1.249, while certificate_install,
 * _uninstall and _sync (rel_george) are everywhere.
 */
export type XapiRelease = "xenserver-8" | "xcp-ng-8.3" | "xcp-ng-8.2" | "xcp-1.6";

export interface XapiProfile {
  softwareVersion: Record<string, string>;
  apiMinor: bigint;
  /** The control domain's Python, by major version (the lab maps it to an interpreter). */
  python: "3.6" | "2.7";
  /** Classes and messages this release does not have (they answer MESSAGE_METHOD_UNKNOWN). */
  lacks: string[];
}

const BEFORE_1_290 = ["pool.install_ca_certificate", "pool.uninstall_ca_certificate"];

export const PROFILES: Record<XapiRelease, XapiProfile> = {
  "xenserver-8": {
    softwareVersion: {
      product_version: "8.4.0",
      product_version_text: "8",
      product_version_text_short: "8",
      product_brand: "XenServer",
      platform_name: "XCP",
      platform_version: "3.4.0",
      build_number: "stream",
      git_id: "0",
      xapi: "25.6",
      xapi_build: "25.6.0",
      xen: "4.17.5-15",
      linux: "4.19.0+1",
      xencenter_min: "2.21",
      xencenter_max: "2.21",
      db_schema: "5.786",
    },
    apiMinor: 21n,
    python: "3.6",
    lacks: [],
  },
  "xcp-ng-8.3": {
    softwareVersion: {
      product_version: "8.3.0",
      product_version_text: "8.3",
      product_version_text_short: "8.3",
      product_brand: "XCP-ng",
      platform_name: "XCP",
      platform_version: "3.4.0",
      build_number: "cloud",
      git_id: "0",
      xapi: "24.19",
      xapi_build: "24.19.2",
      xen: "4.17.5-13",
      linux: "4.19.0+1",
      xencenter_min: "2.21",
      xencenter_max: "2.21",
      db_schema: "5.780",
    },
    apiMinor: 21n,
    python: "3.6",
    lacks: [],
  },
  "xcp-ng-8.2": {
    softwareVersion: {
      product_version: "8.2.1",
      product_version_text: "8.2",
      product_version_text_short: "8.2",
      product_brand: "XCP-ng",
      platform_name: "XCP",
      platform_version: "3.2.1",
      build_number: "release/yangtze/master/58",
      git_id: "0",
      xapi: "1.20",
      xapi_build: "1.249.32",
      xen: "4.13.5-9.40",
      linux: "4.19.0+1",
      xencenter_min: "2.16",
      xencenter_max: "2.16",
      db_schema: "5.602",
    },
    apiMinor: 16n,
    python: "2.7",
    lacks: BEFORE_1_290,
  },
  "xcp-1.6": {
    softwareVersion: {
      platform_name: "XCP",
      platform_version: "1.6.10",
      build_number: "59235c",
      xapi: "1.3",
      xen: "4.1.3",
      linux: "2.6.32.43-0.4.1.xs1.6.10.734.170748xen",
      xencenter_min: "1.10",
      xencenter_max: "1.10",
    },
    apiMinor: 0n,
    python: "3.6",
    lacks: ["SDN_controller", ...BEFORE_1_290],
  },
};
