import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

/** `npm run test:containers`: the containerized integration suite (test/containers). */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/containers/**/*.test.ts"],
    exclude: [],
    testTimeout: 180_000,
    // The first build of the images (npm ci inside) takes minutes; later ones seconds.
    hookTimeout: 20 * 60_000,
    // The Ryuk reaper image cannot be pulled here; the suite removes what it starts itself.
    env: { TESTCONTAINERS_RYUK_DISABLED: "true" },
  },
});
