export * from "./ports.js";
export * from "./wait.js";
export * from "./nats-server.js";
export * from "./prometheus.js";
