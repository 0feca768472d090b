import { freePort, waitFor } from "@sdn/testkit";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { callApi, type ApiResponse } from "./api.js";
import { ComposeProject } from "./compose.js";
import { buildServiceImages, images, requireEngine, requireImage } from "./engine.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const FILES = ["docker-compose.yml", "docker-compose.cluster.yml"];
/** The cluster file's NATS services, which are also the host names in every NATS_URL. */
export const NATS_NODES = ["nats", "nats-2", "nats-3"] as const;
export type NatsNode = (typeof NATS_NODES)[number];
export const GATEWAYS = ["api-gateway", "api-gateway-2"] as const;
export type Gateway = (typeof GATEWAYS)[number];

/**
 * The controller as docker-compose.cluster.yml deploys it, brought up with the compose CLI
 * from the repository's files and nothing else: secrets made by scripts/compose-secrets.sh
 * in a temporary folder, both gateways published on free loopback ports, the service images
 * the container suite builds (scripts/build-images.sh), a project name of its own so that
 * its containers, network and volumes are removed with `down -v` whatever happened.
 */
export class ClusterSystem {
  private constructor(
    readonly compose: ComposeProject,
    private readonly secretsDir: string,
    readonly adminToken: string,
    private readonly urls: Record<Gateway, string>,
  ) {}

  static async start(): Promise<ClusterSystem> {
    const client = await requireEngine();
    await requireImage(client, images().nats);
    await requireImage(client, images().node);
    await buildServiceImages();
    const secretsDir = mkdtempSync(join(tmpdir(), "sdn-it-cluster-"));
    await promisify(execFile)("scripts/compose-secrets.sh", [], {
      cwd: REPO,
      env: { ...process.env, SDN_SECRETS_DIR: secretsDir },
    });
    const [port, port2] = [await freePort(), await freePort()];
    const compose = await ComposeProject.create(`sdn-it-cluster-${randomUUID().slice(0, 8)}`, FILES, {
      SDN_SECRETS_DIR: secretsDir,
      SDN_HTTP_PUBLISH: `127.0.0.1:${port}`,
      SDN_HTTP_PUBLISH_2: `127.0.0.1:${port2}`,
      SDN_NODE_IMAGE: images().node,
      SDN_NATS_IMAGE: images().nats,
      SDN_IMAGE_TAG: images().tag,
    });
    const system = new ClusterSystem(
      compose,
      secretsDir,
      readFileSync(join(secretsDir, "sdn-admin-token"), "utf8").trim(),
      { "api-gateway": `http://127.0.0.1:${port}`, "api-gateway-2": `http://127.0.0.1:${port2}` },
    );
    try {
      // The services wait for the three NATS servers to be healthy (depends_on), so `up`
      // returns once all of them are started.
      await compose.run(["up", "-d", "--no-build"]);
    } catch (err) {
      await system.dispose().catch(() => undefined);
      throw err;
    }
    return system;
  }

  url(gateway: Gateway): string {
    return this.urls[gateway];
  }

  /** Calls a gateway's HTTP API as the admin, with extra headers when given. */
  api(
    gateway: Gateway,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse> {
    return callApi(this.urls[gateway], method, path, this.adminToken, body, headers);
  }

  /** Waits until both gateways answer `/readyz` 200 (NATS and every service answering). */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    await Promise.all(
      GATEWAYS.map((gw) =>
        waitFor(
          `${gw} /readyz to answer 200`,
          async () => ((await fetch(`${this.urls[gw]}/readyz`)).status === 200 ? true : undefined),
          timeoutMs,
          250,
        ),
      ),
    );
  }

  /**
   * The NATS node a gateway connected to at its start (its "connected to NATS" log line):
   * the client names the server by the host name of NATS_URL or by the address it resolved.
   */
  async natsNodeOf(gateway: Gateway): Promise<NatsNode> {
    const line = (await this.compose.logs([gateway], 200)).split("\n").find((l) => l.includes('"connected to NATS"'));
    const host = /"server":"([^"]+):\d+"/.exec(line ?? "")?.[1];
    for (const node of NATS_NODES) {
      if (host === node) return node;
      const [id] = await this.compose.containers(node);
      const { stdout } = await promisify(execFile)("docker", [
        "inspect",
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        id ?? node,
      ]);
      if (host !== undefined && stdout.trim().split(" ").includes(host)) return node;
    }
    throw new Error(`${gateway} logged no NATS node it connected to: ${line ?? "(no line)"}`);
  }

  /** Waits until Docker reports every container of `services` healthy (image or compose HEALTHCHECK). */
  async waitUntilHealthy(services: readonly string[], timeoutMs: number): Promise<void> {
    const ids = (await Promise.all(services.map((s) => this.compose.containers(s)))).flat();
    await waitFor(
      `${services.join(", ")} to be healthy`,
      async () => {
        const { stdout } = await promisify(execFile)("docker", [
          "inspect",
          "--format",
          "{{.State.Health.Status}}",
          ...ids,
        ]);
        return stdout.split("\n").filter((s) => s !== "" && s !== "healthy").length === 0 ? true : undefined;
      },
      timeoutMs,
      1000,
    );
  }

  /** Every container of the project, its network and volumes, and the secrets folder. */
  async dispose(): Promise<void> {
    try {
      await this.compose.run(["down", "-v", "--remove-orphans", "--timeout", "5"]);
    } finally {
      rmSync(this.secretsDir, { recursive: true, force: true });
    }
  }
}
