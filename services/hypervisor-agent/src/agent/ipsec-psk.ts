import { openSealedSecret, type SealingKeyPair } from "@sdn/bus";
import { ipsecPskSealingContext, type SealedSecret } from "@sdn/contracts";
import { HostProgramError } from "../drivers/errors.js";

/**
 * Opens an encrypted network's pre-shared key (sealed by the guru to this agent's key,
 * bound to the network). A key that does not open refuses the whole set before the host
 * is touched: the tunnels are never written without it, so never in clear.
 */
export const openIpsecPsk = (sealing: SealingKeyPair, networkId: string, sealed: SealedSecret): string => {
  try {
    return openSealedSecret(sealing, sealed, ipsecPskSealingContext(networkId));
  } catch (err) {
    throw new HostProgramError(
      "IPSEC_KEY_UNREADABLE",
      `the IPsec key of network ${networkId} does not open with this agent's sealing key ` +
        `(${(err as Error).message}); agents must keep the SDN_SECRET_KEY the network was designed under`,
    ).toCommandError();
  }
};
