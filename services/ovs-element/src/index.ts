export { ovsElementSpec } from "./service.js";
