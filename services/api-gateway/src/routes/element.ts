import {
  CanHandle,
  guestDataFields,
  ListNics,
  ListProviders,
  ListTunnels,
  NetworkId,
  NetworkServiceName,
  NicId,
  pageRequestFields,
  PlugNic,
  PlugNicRequest,
  ProviderNameSchema,
  UnplugNic,
  UpdateNic,
} from "@sdn/contracts";
import Type from "@sdn/typebox";
import type { GatewayApp } from "../app.js";
import { commandRoute } from "../command-route.js";

const closed = { additionalProperties: false } as const;
const NetworkParams = Type.Object({ id: NetworkId }, closed);
const PageQuery = Type.Object(pageRequestFields, closed);
const { networkId: _networkId, ...plugFields } = PlugNicRequest.properties;
const tags = ["NICs and tunnels"];

/** NICs, tunnels and providers: each route sends one ovs-element command (tenancy is the element's). */
export const elementRoutes = async (app: GatewayApp): Promise<void> => {
  commandRoute(app, {
    method: "POST",
    url: "/v1/networks/:id/nics",
    command: PlugNic,
    kind: "mutation",
    successStatus: 201,
    tags,
    summary: "Plug a VM's NIC into the network on a host",
    description: PlugNic.summary,
    params: NetworkParams,
    body: Type.Object(plugFields, {
      ...closed,
      examples: [{ vmId: "vm-17", hostId: "kvm-01", hostInterface: "vnet3" }],
    }),
    toCommand: ({ params, body }) => ({ networkId: params.id, ...body }),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/networks/:id/nics",
    command: ListNics,
    kind: "read",
    tags,
    summary: "List the network's NICs, a page at a time (follow nextCursor)",
    params: NetworkParams,
    querystring: PageQuery,
    toCommand: ({ params, query }) => ({ networkId: params.id, ...query }),
  });
  commandRoute(app, {
    method: "DELETE",
    url: "/v1/networks/:id/nics/:nicId",
    command: UnplugNic,
    kind: "mutation",
    tags,
    summary: "Unplug a NIC (the host leaves the mesh with its last NIC)",
    description: UnplugNic.summary,
    params: Type.Object({ id: NetworkId, nicId: NicId }, closed),
    toCommand: ({ params }) => ({ networkId: params.id, nicId: params.nicId }),
  });
  commandRoute(app, {
    method: "PATCH",
    url: "/v1/networks/:id/nics/:nicId",
    command: UpdateNic,
    kind: "mutation",
    tags,
    summary: "Change a guest NIC's hostname, user data or SSH public keys (served by the network's router)",
    description: UpdateNic.summary,
    params: Type.Object({ id: NetworkId, nicId: NicId }, closed),
    body: Type.Object(guestDataFields, {
      ...closed,
      examples: [{ hostname: "web-1", userData: "I2Nsb3VkLWNvbmZpZwo=" }],
    }),
    toCommand: ({ params, body }) => ({ networkId: params.id, nicId: params.nicId, ...body }),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/networks/:id/tunnels",
    command: ListTunnels,
    kind: "read",
    tags,
    summary: "List the network's GRE tunnel rows (Created, Established, Failed), a page at a time",
    description: ListTunnels.summary,
    params: NetworkParams,
    querystring: PageQuery,
    toCommand: ({ params, query }) => ({ networkId: params.id, ...query }),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/networks/:id/services/:service",
    command: CanHandle,
    kind: "read",
    tags,
    summary: "Whether a provider (default Ovs) handles a service on the network, and why not",
    params: Type.Object({ id: NetworkId, service: NetworkServiceName }, closed),
    querystring: Type.Object({ provider: Type.Optional(ProviderNameSchema) }, closed),
    toCommand: ({ params, query }) => ({
      networkId: params.id,
      service: params.service,
      ...(query.provider === undefined ? {} : { provider: query.provider }),
    }),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/providers",
    command: ListProviders,
    kind: "read",
    tags,
    summary: "List network service providers with their services and capabilities",
    toCommand: () => ({}),
  });
};
