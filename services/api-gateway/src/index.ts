export { apiGatewaySpec } from "./service.js";
export { buildGateway, type GatewayApp } from "./app.js";
