import {
  DEFAULT_SERVICE_PROVIDERS,
  PROVIDERS,
  type CanHandleVerdict,
  type Network,
  type NetworkService,
  type ProviderName,
} from "@sdn/contracts";

/**
 * CloudStack's NetworkElement.canHandle for our providers: the network must be on the
 * provider's broadcast domains (GRE or VXLAN), the service must be offered on the network (its
 * offering: service → provider; every network has the default one today), the network must
 * use this provider for it (or the one this provider delegates it to), and the provider must
 * declare the service.
 */
export const canHandle = (
  network: Pick<Network, "id" | "name" | "encapsulation" | "broadcastUri">,
  service: NetworkService,
  providerName: ProviderName = "Ovs",
  offering: Readonly<Partial<Record<NetworkService, ProviderName>>> = DEFAULT_SERVICE_PROVIDERS,
): CanHandleVerdict => {
  const verdict = (reason?: string, delegatedTo?: ProviderName): CanHandleVerdict => ({
    networkId: network.id,
    provider: providerName,
    service,
    canHandle: reason === undefined,
    ...(delegatedTo === undefined ? {} : { delegatedTo }),
    ...(reason === undefined ? {} : { reason }),
  });
  const provider = PROVIDERS.find((p) => p.name === providerName);
  if (provider === undefined) return verdict(`there is no provider ${providerName}`);
  const scheme = network.broadcastUri?.split("://")[0];
  const domains: readonly string[] = provider.encapsulations ?? [provider.broadcastDomain];
  if (!domains.includes(network.encapsulation) || (scheme !== undefined && !domains.includes(scheme))) {
    return verdict(
      `network ${network.name} is on broadcast domain ${scheme ?? network.encapsulation}, ` +
        `${providerName} works on ${domains.join(" and ")} only`,
    );
  }
  const chosen = offering[service];
  if (chosen === undefined) return verdict(`service ${service} is not offered on network ${network.name}`);
  const declared = provider.services.find((s) => s.service === service);
  const delegatedTo = declared?.delegatedTo;
  // A service the provider delegates is the delegate's on the network: the provider still answers for it.
  if (chosen !== providerName && chosen !== delegatedTo) {
    return verdict(`${service} on network ${network.name} is provided by ${chosen}, not ${providerName}`);
  }
  if (declared === undefined) return verdict(`provider ${providerName} does not offer ${service}`);
  return verdict(undefined, delegatedTo);
};
