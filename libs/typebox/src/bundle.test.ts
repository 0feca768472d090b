import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * The built services load `dist/bundle/` (scripts/build.ts; `npm test` builds before it
 * tests), tests and tsx TypeBox's own modules: the two must offer the same thing.
 */
const bundle = new URL("../dist/bundle/", import.meta.url);

const entries = [
  { name: "index", typebox: "typebox" },
  { name: "compile", typebox: "typebox/compile" },
  { name: "value", typebox: "typebox/value" },
] as const;

const load = async (name: string): Promise<Record<string, unknown>> =>
  (await import(new URL(`${name}.mjs`, bundle).href)) as Record<string, unknown>;

describe("TypeBox's bundle", () => {
  it.each(entries)("$name exports what $typebox does", async ({ name, typebox }) => {
    const built = await load(name);
    const own = (await import(typebox)) as Record<string, unknown>;
    expect(Object.keys(built).sort()).toEqual(Object.keys(own).sort());
    expect(typeof built["default"]).toBe(typeof own["default"]);
  });

  it("checks a schema built by one entry with the others", async () => {
    const { default: Type } = (await load("index")) as unknown as typeof import("typebox");
    const { Compile } = (await load("compile")) as unknown as typeof import("typebox/compile");
    const { Value } = (await load("value")) as unknown as typeof import("typebox/value");
    const schema = Type.Object({ id: Type.String({ format: "uuid" }), size: Type.Integer({ minimum: 1 }) });
    const good = { id: "0b8e3b4c-3f52-4a8e-9d39-2f0d6c1c7a11", size: 2 };
    expect(Compile(schema).Check(good)).toBe(true);
    expect(Compile(schema).Check({ ...good, id: "not-a-uuid" })).toBe(false);
    expect(Value.Check(schema, { ...good, size: 0 })).toBe(false);
  });

  it("is a few modules, not TypeBox's hundreds, that import only each other and Node's own", () => {
    const files = readdirSync(bundle);
    expect(files.length).toBeLessThan(10);
    // esbuild writes a module's imports one per statement, each ending a line in `from "…";`
    // (TypeBox's own `from "typebox/…"` inside template strings is code it generates, not an import).
    const specifiers = files.flatMap((file) =>
      [...readFileSync(new URL(file, bundle), "utf8").matchAll(/^(?:import|export|\}).*from "([^"]+)";$/gm)].map(
        (m) => m[1],
      ),
    );
    expect(specifiers.length).toBeGreaterThan(0);
    for (const specifier of specifiers) expect(specifier).toMatch(/^(\.\/chunk-\w+\.mjs|node:.+)$/);
  });

  it("holds one copy of TypeBox, shared by the three entries", () => {
    // Bundled apart, each entry would carry its own copy (three definitions of TypeBox's
    // schema guard, each with its own state); split, the entries import a shared chunk.
    const guards = readdirSync(bundle)
      .map((file) => readFileSync(new URL(file, bundle), "utf8").match(/^function IsSchema\(/gm)?.length ?? 0)
      .reduce((a, b) => a + b, 0);
    expect(guards).toBe(1);
  });
});
