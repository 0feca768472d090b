export * from "./ports.js";
export * from "./wait.js";
export * from "./nats-server.js";
export * from "./ovsdb-server.js";
