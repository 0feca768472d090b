// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", ".data/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.js", "docker/*.mjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Unawaited promises lose errors: every one must be awaited, returned or marked `void`.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/require-await": "off",
      // TypeBox through libs/typebox, which the build bundles (its 683 modules cost each
      // service ~10 MB resident): an import of `typebox` itself would load them all again.
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^typebox(/|$)", message: "import @sdn/typebox (bundled) instead" }] },
      ],
    },
  },
  {
    files: ["libs/typebox/src/**"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    // Committed JavaScript bin shims (no TypeScript project to type-check them with).
    files: ["apps/*/bin/*.js"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The web view's browser modules: type-checked by their own tsconfig (DOM lib), which also
    // knows the browser's globals.
    files: ["services/api-gateway/ui/**/*.js"],
    rules: { "no-undef": "off" },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "services/*/test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
    },
  },
);
