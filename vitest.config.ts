import { configDefaults, defineConfig } from "vitest/config";

/**
 * Workspace packages export their TypeScript sources under the "sdn-source" condition (a
 * name no third-party package uses), so tests run against src/ without a build. Vite's
 * "module" condition is left out on purpose: it picks ESM builds that Node itself cannot
 * load (@opentelemetry/api, @stoplight/*), and those are loaded by Node as externals.
 */
export default defineConfig({
  ssr: {
    resolve: {
      conditions: ["sdn-source", "node", "development|production"],
      externalConditions: ["node"],
    },
  },
  test: {
    include: [
      "libs/*/src/**/*.test.ts",
      "apps/*/src/**/*.test.ts",
      "services/*/src/**/*.test.ts",
      "services/*/test/**/*.test.ts",
      "test/**/*.test.ts",
    ],
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
