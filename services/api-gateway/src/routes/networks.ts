import {
  AcquirePublicIp,
  CreateNetwork,
  CreatePublicIpRange,
  DeleteNetwork,
  DeletePublicIpRange,
  DnsDomain,
  DnsServers,
  GetNetwork,
  ListNetworks,
  ListPublicIpRanges,
  ListPublicIps,
  Mtu,
  NetworkDescription,
  NetworkId,
  NetworkName,
  PublicIpId,
  PublicIpRangeId,
  ReleasePublicIp,
  UpdateNetwork,
} from "@sdn/contracts";
import Type from "@sdn/typebox";
import type { GatewayApp } from "../app.js";
import { commandRoute } from "../command-route.js";

const closed = { additionalProperties: false } as const;
const NetworkParams = Type.Object({ id: NetworkId }, closed);
const networks = ["Networks"];
const publicIps = ["Public IPs"];

/** Networks and public IPs: each route sends one network-guru command (tenancy is the guru's). */
export const networkRoutes = async (app: GatewayApp): Promise<void> => {
  commandRoute(app, {
    method: "POST",
    url: "/v1/networks",
    command: CreateNetwork,
    kind: "mutation",
    successStatus: 201,
    tags: networks,
    summary: "Design a guest network (state Allocated)",
    body: CreateNetwork.request,
    toCommand: ({ body }) => body,
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/networks",
    command: ListNetworks,
    kind: "read",
    tags: networks,
    summary: "List networks (a tenant's own; admins all, or one account's), a page at a time",
    querystring: ListNetworks.request,
    toCommand: ({ query }) => query,
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/networks/:id",
    command: GetNetwork,
    kind: "read",
    tags: networks,
    summary: "Get a network",
    params: NetworkParams,
    toCommand: ({ params }) => ({ networkId: params.id }),
  });
  commandRoute(app, {
    method: "PATCH",
    url: "/v1/networks/:id",
    command: UpdateNetwork,
    kind: "mutation",
    tags: networks,
    summary: "Change a network's name, description, DNS servers, DNS domain or MTU",
    params: NetworkParams,
    body: Type.Object(
      {
        name: Type.Optional(NetworkName),
        description: Type.Optional(NetworkDescription),
        dns: Type.Optional(DnsServers),
        domain: Type.Optional(DnsDomain),
        mtu: Type.Optional(Mtu),
        encapsulation: UpdateNetwork.request.properties.encapsulation,
      },
      closed,
    ),
    toCommand: ({ params, body }) => ({ networkId: params.id, ...body }),
  });
  commandRoute(app, {
    method: "DELETE",
    url: "/v1/networks/:id",
    command: DeleteNetwork,
    kind: "mutation",
    tags: networks,
    summary: "Delete a network (409 naming the NICs and public IPs that remain)",
    params: NetworkParams,
    toCommand: ({ params }) => ({ networkId: params.id }),
  });

  commandRoute(app, {
    method: "POST",
    url: "/v1/public-ip-ranges",
    command: CreatePublicIpRange,
    kind: "mutation",
    successStatus: 201,
    adminOnly: true,
    tags: publicIps,
    summary: "Define a public IP range (admin)",
    body: CreatePublicIpRange.request,
    toCommand: ({ body }) => body,
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/public-ip-ranges",
    command: ListPublicIpRanges,
    kind: "read",
    adminOnly: true,
    tags: publicIps,
    summary: "List public IP ranges (admin)",
    toCommand: () => ({}),
  });
  commandRoute(app, {
    method: "DELETE",
    url: "/v1/public-ip-ranges/:id",
    command: DeletePublicIpRange,
    kind: "mutation",
    adminOnly: true,
    tags: publicIps,
    summary: "Delete a public IP range (admin; 409 while addresses of it are held)",
    params: Type.Object({ id: PublicIpRangeId }, closed),
    toCommand: ({ params }) => ({ rangeId: params.id }),
  });
  commandRoute(app, {
    method: "POST",
    url: "/v1/public-ips",
    command: AcquirePublicIp,
    kind: "mutation",
    successStatus: 201,
    tags: publicIps,
    summary: "Acquire a public IP for a network (its first one is its source NAT address)",
    body: AcquirePublicIp.request,
    toCommand: ({ body }) => body,
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/public-ips",
    command: ListPublicIps,
    kind: "read",
    tags: publicIps,
    summary: "List public IPs (a tenant's own; admins all), optionally of one network, a page at a time",
    querystring: ListPublicIps.request,
    toCommand: ({ query }) => query,
  });
  commandRoute(app, {
    method: "DELETE",
    url: "/v1/public-ips/:id",
    command: ReleasePublicIp,
    kind: "mutation",
    tags: publicIps,
    summary: "Release a public IP (a network's source NAT address goes last)",
    params: Type.Object({ id: PublicIpId }, closed),
    toCommand: ({ params }) => ({ publicIpId: params.id }),
  });
};
