export * from "./lifecycle.js";
export * from "./config.js";
export * from "./redact.js";
export * from "./logger.js";
export * from "./telemetry.js";
export * from "./shutdown.js";
export * from "./service-host.js";
export * from "./secret-box.js";
