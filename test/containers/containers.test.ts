import { SERVICE_NAMES } from "@sdn/contracts";
import { afterAll, afterEach, beforeAll, describe } from "vitest";
import { newScenario } from "./scenario.js";
import { accountSteps } from "./steps/accounts.js";
import { busSteps } from "./steps/bus.js";
import { deploymentSteps } from "./steps/deployment.js";
import { faultSteps } from "./steps/faults.js";
import { networkSteps } from "./steps/networks.js";
import { nicSteps } from "./steps/nics.js";
import { routerSteps } from "./steps/router.js";
import { ruleSteps } from "./steps/rules.js";
import { ContainerSystem } from "./system.js";

/*
 * The containerized integration suite (`npm run test:containers`): NATS and every service
 * as containers built from ./Dockerfile, driven over HTTP and the bus. The steps run in
 * order on one system and share a Scenario; later areas (NICs, rules) add their step
 * module before the faults, and their data to the Scenario, so the faults check it too.
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

const scenario = newScenario();
describe("deployment", () => deploymentSteps(system));
describe("accounts", () => accountSteps(system, scenario));
describe("networks", () => networkSteps(system, scenario));
describe("nics", () => nicSteps(system, scenario));
describe("rules", () => ruleSteps(system, scenario));
describe("router", () => routerSteps(system, scenario));
describe("bus security", () => busSteps(system, scenario));
describe("faults", () => faultSteps(system, scenario));
