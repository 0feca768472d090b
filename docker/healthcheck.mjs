// The containers' health check: `node docker/healthcheck.mjs <service>` exits 0 when healthy.
// The gateway must answer its own /healthz. A command service must answer its Health
// endpoint on NATS (the request goes to the service's queue group, so with several
// replicas this says that one of them answers).
/* global process, fetch, AbortSignal */
import { connect } from "@nats-io/transport-node";
import { serviceEndpointGroup } from "@sdn/contracts";

const TIMEOUT_MS = 3000;
const service = process.argv[2];
const env = process.env;

const checkGateway = async () => {
  const res = await fetch(`http://127.0.0.1:${env.SDN_HTTP_PORT ?? "8080"}/healthz`, {
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`/healthz answered ${res.status}`);
};

/** @param {string} name */
const checkService = async (name) => {
  const nc = await connect({
    servers: (env.NATS_URL ?? "nats://127.0.0.1:4222").split(",").map((s) => s.trim()),
    timeout: TIMEOUT_MS,
    ...(env.NATS_USER ? { user: env.NATS_USER, pass: env.NATS_PASSWORD } : {}),
    ...(env.NATS_TOKEN ? { token: env.NATS_TOKEN } : {}),
  });
  try {
    await nc.request(`${serviceEndpointGroup(name)}.Health`, "", { timeout: TIMEOUT_MS });
  } finally {
    await nc.close();
  }
};

try {
  if (service === undefined) throw new Error("usage: healthcheck.mjs <service>");
  await (service === "api-gateway" ? checkGateway() : checkService(service));
} catch (err) {
  process.stderr.write(`${service ?? "?"} unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
