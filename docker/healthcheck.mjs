// @ts-check
// The containers' health check: `node docker/healthcheck.mjs <service>` exits 0 when healthy.
// The gateway must answer its own /healthz. A command service must answer a NATS micro
// STATS request addressed to this container's process (its id is in SDN_INSTANCE_FILE,
// which the service writes once it is registered) and its Health endpoint's data there
// must say status "up": it is not when the service's durable command consumer is missing.
// Asking the service's queue group instead would report a hung container healthy whenever
// another replica answers. It connects as the service itself (NATS_CREDS, or user/password
// or token) and reads the reply in the service's own inbox, the only one its credentials allow.
/* global process, fetch, AbortSignal */
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { readFile } from "node:fs/promises";

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
  const file = env.SDN_INSTANCE_FILE;
  if (file === undefined || file === "") throw new Error("SDN_INSTANCE_FILE is not set");
  const text = await readFile(file, "utf8").catch(() => "{}");
  /** @type {unknown} */
  const parsed = JSON.parse(text);
  const record = /** @type {Record<string, unknown>} */ (parsed ?? {});
  if (record.service !== name || typeof record.microId !== "string") {
    throw new Error(`${file} holds no ${name} instance (not started yet, or stopped)`);
  }
  const nc = await connect({
    servers: (env.NATS_URL ?? "nats://127.0.0.1:4222").split(",").map((s) => s.trim()),
    timeout: TIMEOUT_MS,
    inboxPrefix: env.NATS_INBOX_PREFIX || `_INBOX.${name}`,
    ...(env.NATS_CREDS ? { authenticator: credsAuthenticator(await readFile(env.NATS_CREDS)) } : {}),
    ...(env.NATS_USER ? { user: env.NATS_USER, pass: env.NATS_PASSWORD } : {}),
    ...(env.NATS_TOKEN ? { token: env.NATS_TOKEN } : {}),
  });
  /** @type {{ endpoints?: { name?: string, data?: { status?: string, detail?: string } }[] }} */
  let stats;
  try {
    const reply = await nc.request(`$SRV.STATS.${name}.${record.microId}`, "", { timeout: TIMEOUT_MS });
    stats = reply.json();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`instance ${String(record.instanceId)} does not answer: ${why}`);
  } finally {
    await nc.close();
  }
  const health = (stats.endpoints ?? []).find((e) => e.name === "Health")?.data;
  if (health?.status !== "up") {
    throw new Error(`instance ${String(record.instanceId)} is ${health?.status ?? "silent"}: ${health?.detail ?? ""}`);
  }
};

try {
  if (service === undefined) throw new Error("usage: healthcheck.mjs <service>");
  await (service === "api-gateway" ? checkGateway() : checkService(service));
} catch (err) {
  process.stderr.write(`${service ?? "?"} unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
