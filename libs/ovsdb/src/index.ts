export * from "./client.js";
export * from "./datum.js";
export * from "./errors.js";
export * from "./monitor.js";
export * from "./operations.js";
export * from "./schema.js";
export * from "./table-cache.js";
export * from "./transport.js";
