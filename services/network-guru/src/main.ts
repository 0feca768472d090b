import { runServiceMain } from "@sdn/runtime";
import { networkGuruSpec } from "./service.js";

runServiceMain(networkGuruSpec);
