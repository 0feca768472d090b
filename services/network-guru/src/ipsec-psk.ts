import { readSealingKey, sealSecret } from "@sdn/bus";
import type { NatsConnection } from "@nats-io/transport-node";
import { ipsecPskSealingContext, type SealedSecret } from "@sdn/contracts";
import { randomBytes } from "node:crypto";

/** 256 bits: the strength of the AES-256-GCM ESP/IKE suites ovs-monitor-ipsec configures. */
export const IPSEC_PSK_BYTES = 32;

/** Seals a fresh pre-shared key for a network; the plaintext exists only inside this call. */
export type PskSealer = (networkId: string) => Promise<SealedSecret>;

/**
 * A new network's pre-shared key: random, hex (ovs-monitor-ipsec writes it between double
 * quotes into ipsec.secrets, so no quote or backslash may appear), sealed at once to the
 * hypervisor agents' public key. The guru never stores nor answers it in clear; only an
 * agent (holder of SDN_SECRET_KEY) can open it.
 */
export const pskSealer =
  (nc: NatsConnection): PskSealer =>
  async (networkId) =>
    sealSecret(
      await readSealingKey(nc),
      randomBytes(IPSEC_PSK_BYTES).toString("hex"),
      ipsecPskSealingContext(networkId),
    );
