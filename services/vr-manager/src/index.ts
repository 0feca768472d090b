export { vrManagerSpec } from "./service.js";
export { ROUTER_SCHEMA_DIR, routerSchemaFiles } from "./transport/router-config-check.js";
