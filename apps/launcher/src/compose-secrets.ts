import { ensureBusCredentials, type BusCredentialFiles } from "@sdn/bus-auth";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where the compose NATS servers keep account JWTs (on their data volume). */
export const COMPOSE_RESOLVER_DIR = "/data/jwt";
/** The NATS nodes of docker-compose.cluster.yml, by compose service name. */
export const CLUSTER_NODES = ["nats", "nats-2", "nats-3"] as const;
/** The compose secret (a file under /run/secrets) holding the server's authentication block. */
export const SERVER_AUTH_SECRET = "nats-server-auth";
export const CLUSTER_CONFIG_FILE = "nats-cluster.conf";
const ROUTE_USER = "route";

/**
 * A cluster node's configuration: the authentication block (included from its compose
 * secret, next to this file under /run/secrets) and routes that authenticate, so nothing
 * but the three nodes can join the cluster and read its replicated streams.
 */
export const clusterConfig = (routePassword: string): string =>
  [
    `include "${SERVER_AUTH_SECRET}"`,
    "cluster {",
    "  name: sdn",
    "  listen: 0.0.0.0:6222",
    `  authorization { user: ${ROUTE_USER}, password: ${JSON.stringify(routePassword)} }`,
    "  routes: [",
    ...CLUSTER_NODES.map((node) => `    ${JSON.stringify(`nats-route://${ROUTE_USER}:${routePassword}@${node}:6222`)}`),
    "  ]",
    "}",
    "",
  ].join("\n");

/**
 * The bus credentials of a compose deployment, made by the code `npm start` uses: the same
 * files (docs/bus-security.md), readable by the containers' users (0444; the directory stays
 * 0700, and each container is given only its own file), plus the cluster's route
 * configuration. Kept once made, except the service credentials, which are re-signed so
 * they carry this version's permissions.
 */
export const ensureComposeBusSecrets = async (
  dir: string,
  resolverDir = COMPOSE_RESOLVER_DIR,
): Promise<BusCredentialFiles> => {
  const files = await ensureBusCredentials(dir, resolverDir, 0o444);
  const cluster = join(dir, CLUSTER_CONFIG_FILE);
  if (!existsSync(cluster)) {
    // Hex: the password also stands in the route URLs.
    writeFileSync(cluster, clusterConfig(randomBytes(24).toString("hex")), { mode: 0o444 });
    chmodSync(cluster, 0o444);
  }
  return files;
};
