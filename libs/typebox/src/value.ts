/** `typebox/value` (see index.ts): the bundle shares one copy of TypeBox with it. */
export * from "typebox/value";
export { default } from "typebox/value";
