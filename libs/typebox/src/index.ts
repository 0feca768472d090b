/**
 * TypeBox, re-exported. Every workspace imports TypeBox through here, never `typebox` itself
 * (eslint enforces it): run from source (tests, tsx) this is TypeBox's own modules, while the
 * built services load `dist/bundle/`, where scripts/build.ts bundles them. TypeBox ships 683
 * ES modules and each costs a loaded process memory of its own: bundled, every service keeps
 * about 10 MB less resident (issue 18; docs/operations.md "Idle memory").
 */
export * from "typebox";
export { default } from "typebox";
