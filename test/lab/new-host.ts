import type { NewHost } from "@sdn/contracts";
import type { LabHost } from "./host.js";
import { KvmLabHost } from "./kvm-host.js";
import { XapiLabHost } from "./xapi-host.js";

/**
 * What an operator gives AddHost for a lab host: SSH with the host's key pinned for KVM,
 * XAPI with its password and the CA that signed its certificate for XenServer / XCP-ng.
 */
export const newHostOf = (h: LabHost): NewHost => {
  if (h instanceof KvmLabHost) {
    return {
      name: h.name,
      hypervisor: "kvm",
      address: h.address,
      username: h.username,
      privateKey: h.clientPrivateKey,
      hostKeyFingerprint: h.hostKeyFingerprint,
    };
  }
  if (h instanceof XapiLabHost) {
    return {
      name: h.name,
      hypervisor: h.hypervisor === "xcp-ng" ? "xcp-ng" : "xenserver",
      address: h.address,
      username: h.username,
      password: h.password,
      tlsCertificate: h.caCertificate,
    };
  }
  throw new Error(`lab host ${h.name}: neither a KVM nor a XAPI host`);
};
