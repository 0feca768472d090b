import { SERVICE_NAMES } from "@sdn/contracts";
import { afterAll, afterEach, beforeAll, describe } from "vitest";
import { deploymentSteps } from "./steps/deployment.js";
import { faultSteps } from "./steps/faults.js";
import { ContainerSystem } from "./system.js";

/*
 * The containerized integration suite (`npm run test:containers`): NATS and every service
 * as containers built from ./Dockerfile, driven over HTTP and the bus. The steps run in
 * order on one system; later areas (accounts, networks, NICs, rules) add their step module
 * between the deployment and the faults, so that the faults also check their data.
 */

let running: ContainerSystem | undefined;
const system = (): ContainerSystem => {
  if (running === undefined) throw new Error("the container system did not start");
  return running;
};

beforeAll(async () => {
  running = await ContainerSystem.start();
}, 20 * 60_000);

afterAll(async () => {
  await running?.dispose();
});

// A failed step prints what the containers said, which is most of the diagnosis.
afterEach(async ({ task }) => {
  if (task.result?.state !== "fail" || running === undefined) return;
  for (const name of [...SERVICE_NAMES, "nats"] as const) {
    const tail = await running.logs(name, { tail: 30 }).catch((err: Error) => `(no logs: ${err.message})`);
    process.stderr.write(`--- ${name} (last 30 lines) ---\n${tail}\n`);
  }
});

describe("deployment", () => deploymentSteps(system));
describe("faults", () => faultSteps(system));
