export * from "./permissions.js";
export * from "./trust.js";
export * from "./trust-files.js";
export * from "./issuer.js";
