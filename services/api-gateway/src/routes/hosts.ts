import { sealNewHost } from "@sdn/bus";
import { AddHost, GetHost, HostId, ListHosts, NewHost, RemoveHost } from "@sdn/contracts";
import Type from "@sdn/typebox";
import type { GatewayApp } from "../app.js";
import { commandRoute } from "../command-route.js";

const HostParams = Type.Object({ id: HostId }, { additionalProperties: false });
const tags = ["Hosts"];

/** The host registry (admin only): each route sends one hypervisor-agent command. */
export const hostRoutes = async (app: GatewayApp): Promise<void> => {
  commandRoute(app, {
    method: "POST",
    url: "/v1/hosts",
    command: AddHost,
    kind: "mutation",
    successStatus: 201,
    adminOnly: true,
    tags,
    summary: "Add a XenServer, XCP-ng or KVM host (admin)",
    description:
      "Connects to the host, identifies it, finds its tunnel endpoint and deploys the host programs; answers the host Up, or refuses with error.details.reason (UNREACHABLE, AUTHENTICATION_FAILED, HOST_KEY_MISMATCH, TLS_VERIFICATION_FAILED, NOT_AN_OVS_HOST, PROGRAMS_MISSING, ...) and stores nothing. Passwords and keys are write-only.",
    body: NewHost,
    // The credentials go on the bus only sealed to the agent (docs/bus-integrity.md).
    toCommand: ({ body }) => sealNewHost(app.bus.nc, body),
    // Secrets stay out of the idempotency record, even hashed: a hash of a weak password can be guessed.
    idempotencyView: ({ body }) => ({ ...body, password: undefined, privateKey: undefined, passphrase: undefined }),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/hosts",
    command: ListHosts,
    kind: "read",
    adminOnly: true,
    tags,
    summary: "List hosts (admin)",
    toCommand: () => ({}),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/hosts/:id",
    command: GetHost,
    kind: "read",
    adminOnly: true,
    tags,
    summary: "Get a host (admin)",
    params: HostParams,
    toCommand: ({ params }) => ({ id: params.id }),
  });
  commandRoute(app, {
    method: "DELETE",
    url: "/v1/hosts/:id",
    command: RemoveHost,
    kind: "mutation",
    successStatus: 204,
    adminOnly: true,
    tags,
    summary: "Remove a host (admin); nothing on the host is changed",
    params: HostParams,
    toCommand: ({ params }) => ({ id: params.id }),
  });
};
