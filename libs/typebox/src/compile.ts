/** `typebox/compile` (see index.ts): the bundle shares one copy of TypeBox with it. */
export * from "typebox/compile";
export { default } from "typebox/compile";
