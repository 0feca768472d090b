export * from "./registry.js";
export * from "./bus-metrics.js";
