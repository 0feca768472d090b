export * from "./ports.js";
export * from "./wait.js";
export * from "./nats-server.js";
export * from "./nats-cluster.js";
export * from "./prometheus.js";
export * from "./ovsdb-server.js";
export * from "./bus-refusals.js";
