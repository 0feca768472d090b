export * from "./subjects.js";
export * from "./headers.js";
export * from "./errors.js";
export * from "./envelope.js";
export * from "./definitions.js";
export * from "./catalog.js";
export * from "./commands/health.js";
export * from "./events/lifecycle.js";
