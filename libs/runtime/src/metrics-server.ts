import { CONTENT_TYPE, metrics, type MetricsRegistry } from "@sdn/bus";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger.js";

/** Where a service serves `/metrics`; off unless SDN_METRICS_PORT is set. */
export interface MetricsListenerOptions {
  host: string;
  port: number;
  logger: Logger;
  registry?: MetricsRegistry;
}

export interface MetricsListener {
  /** `http://host:port` once listening (port 0 asks for any free port). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A bare HTTP listener for Prometheus: GET /metrics and nothing else. It serves counts
 * and states only (no ids of tenants' resources, no secrets), so it needs no token; keep
 * it on a management network (the default host is loopback).
 */
export const startMetricsListener = async (opts: MetricsListenerOptions): Promise<MetricsListener> => {
  const registry = opts.registry ?? metrics;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics is served here\n");
      return;
    }
    registry.expose().then(
      (text) => res.writeHead(200, { "content-type": CONTENT_TYPE }).end(req.method === "HEAD" ? undefined : text),
      (err: unknown) => {
        opts.logger.error({ err }, "metrics exposition failed");
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics could not be collected\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
  opts.logger.info({ url: `${url}/metrics` }, `metrics at ${url}/metrics`);
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
