export { networkGuruSpec } from "./service.js";
