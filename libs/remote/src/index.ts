export * from "./errors.js";
export * from "./fingerprint.js";
export * from "./quote.js";
export * from "./ssh-session.js";
