import { runServiceMain } from "@sdn/runtime";
import { hypervisorAgentSpec } from "./service.js";

runServiceMain(hypervisorAgentSpec);
