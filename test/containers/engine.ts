import { getContainerRuntimeClient, ImageName, type ContainerRuntimeClient } from "testcontainers";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The socket of the private engine that scripts/docker-engine.sh starts. */
const PRIVATE_ENGINE = "/run/sdn-docker.sock";
const REPO = fileURLToPath(new URL("../..", import.meta.url));

const HOW_TO_RUN = [
  "How to run the container suite:",
  "  - with Docker: DOCKER_HOST (or the default socket) must reach the engine;",
  "  - on Debian without one: apt-get install docker.io debootstrap, then `scripts/docker-engine.sh start`",
  `    (the suite finds ${PRIVATE_ENGINE} by itself);`,
  "  - without an image registry: `scripts/build-base-images.sh` (it also builds the router image), then",
  "    export SDN_NODE_IMAGE=local/node:20-bookworm-slim SDN_NATS_IMAGE=local/nats:bookworm;",
  "  - then `npm run test:containers`.",
].join("\n");

/** The images the suite runs, from the same variables as docker-compose.yml. */
export const images = () => ({
  node: process.env["SDN_NODE_IMAGE"] || "node:20-bookworm-slim",
  nats: process.env["SDN_NATS_IMAGE"] || "nats:2.10-alpine",
  tag: process.env["SDN_IMAGE_TAG"] || "latest",
  /** The router appliance (sshd, iptables, haproxy, python3): scripts/build-base-images.sh makes it. */
  router: process.env["SDN_ROUTER_IMAGE"] || "local/sdn-router:bookworm",
});

/**
 * The engine the suite runs on, or an error that says how to get one. DOCKER_HOST wins;
 * otherwise the project's private engine when it runs; otherwise testcontainers' defaults.
 */
export const requireEngine = async (): Promise<ContainerRuntimeClient> => {
  if (!process.env["DOCKER_HOST"] && existsSync(PRIVATE_ENGINE))
    process.env["DOCKER_HOST"] = `unix://${PRIVATE_ENGINE}`;
  try {
    return await getContainerRuntimeClient();
  } catch (err) {
    const where = process.env["DOCKER_HOST"] ?? "the default Docker socket";
    throw new Error(`No container engine answered at ${where}: ${(err as Error).message}\n${HOW_TO_RUN}`);
  }
};

/** Makes sure an image is present: kept when local, pulled otherwise, or a clear error. */
export const requireImage = async (client: ContainerRuntimeClient, name: string): Promise<void> => {
  const image = ImageName.fromString(name);
  if (await client.image.exists(image)) return;
  try {
    await client.image.pull(image);
  } catch (err) {
    throw new Error(`Image ${name} is not present and could not be pulled: ${(err as Error).message}\n${HOW_TO_RUN}`);
  }
};

/**
 * Builds the five service images from the working tree (scripts/build-images.sh; cached
 * layers make a rebuild after a source change take seconds).
 */
export const buildServiceImages = async (): Promise<void> => {
  const { node, tag } = images();
  try {
    await promisify(execFile)("scripts/build-images.sh", [], {
      cwd: REPO,
      env: { ...process.env, SDN_NODE_IMAGE: node, SDN_IMAGE_TAG: tag },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`Building the service images failed:\n${stderr ?? (err as Error).message}`);
  }
};

/** Removes a named volume (the docker CLI: testcontainers has no volume API); a missing one is fine. */
export const removeVolume = async (name: string): Promise<void> => {
  await promisify(execFile)("docker", ["volume", "rm", "--force", name]);
};
