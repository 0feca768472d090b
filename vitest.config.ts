import { configDefaults, defineConfig } from "vitest/config";

/**
 * Workspace packages export their TypeScript sources under the "source" condition, so
 * tests run against src/ without a build.
 */
const conditions = ["source", "node", "import", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ["libs/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "test/**/*.test.ts"],
    // The container suite needs an engine and images: `npm run test:containers` runs it.
    exclude: [...configDefaults.exclude, "test/containers/**"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Lab tests share the host's network namespaces and OVS: run files one at a time.
    fileParallelism: false,
    pool: "forks",
  },
});
