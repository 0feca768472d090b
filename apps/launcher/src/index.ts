export * from "./compose-secrets.js";
export * from "./node-options.js";
