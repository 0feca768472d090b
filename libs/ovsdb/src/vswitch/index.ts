export * from "./plans.js";
export * from "./snapshot.js";
export * from "./tags.js";
export * from "./vswitch.js";
export * from "./drift.js";
export * from "./health.js";
