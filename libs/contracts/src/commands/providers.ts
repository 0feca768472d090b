import Type from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { NetworkId } from "../resources/networks.js";
import { CanHandleVerdict, NetworkServiceName, Provider, ProviderNameSchema } from "../resources/providers.js";

export const ProviderList = Type.Object(
  { providers: Type.Array(Provider) },
  { additionalProperties: false, $id: "ProviderList" },
);

export const ListProviders = defineCommand({
  service: "ovs-element",
  name: "ListProviders",
  delivery: "request",
  summary: "Lists the network service providers with their services and capabilities.",
  request: Type.Object({}, { additionalProperties: false }),
  response: ProviderList,
});

export const CanHandle = defineCommand({
  service: "ovs-element",
  name: "CanHandle",
  delivery: "request",
  summary:
    "CloudStack's NetworkElement.canHandle: whether a provider (default Ovs) handles a service on a network, " +
    "and why not (broadcast domain not GRE, another provider's service, service not offered).",
  request: Type.Object(
    { networkId: NetworkId, service: NetworkServiceName, provider: Type.Optional(ProviderNameSchema) },
    { additionalProperties: false },
  ),
  response: CanHandleVerdict,
});

export const PROVIDER_COMMANDS = [ListProviders, CanHandle] as const;
