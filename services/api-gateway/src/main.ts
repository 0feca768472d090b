import { runServiceMain } from "@sdn/runtime";
import { apiGatewaySpec } from "./service.js";

runServiceMain(apiGatewaySpec);
