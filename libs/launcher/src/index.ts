export * from "./compose-secrets.js";
