import { runServiceMain } from "@sdn/runtime";
import { vrManagerSpec } from "./service.js";

runServiceMain(vrManagerSpec);
