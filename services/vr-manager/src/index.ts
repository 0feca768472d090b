export { vrManagerSpec } from "./service.js";
