import { runServiceMain } from "@sdn/runtime";
import { ovsElementSpec } from "./service.js";

runServiceMain(ovsElementSpec);
